import type { NewTry, Store, TiChange, TiKey, TryChange } from '../store/store.js';

const tiKeyText = (c: { readonly key: TiKey }) => `${c.key.dagId}\u0000${c.key.runId}\u0000${c.key.taskId}\u0000${c.key.mapIndex}`;
const tryKeyText = (c: TryChange) => `${tiKeyText(c)}\u0000${c.key.tryNumber}`;

/**
 * The guarded writes of one tick, held and sent together: new tries, then try changes, then
 * task instance changes, each kind as few statements as the store can make of it.
 *
 * A row changed twice before a flush keeps both changes in order: they go in successive
 * rounds, so each is guarded by the state the one before it left, as if sent one by one.
 * `wrap(tx)` gives the transaction with every other call flushing first, so whatever the tick
 * reads or writes besides these sees them.
 */
export class WriteBuffer {
  private newTries: NewTry[] = [];
  private tries = new Map<string, TryChange[]>();
  private tis = new Map<string, TiChange[]>();

  /** @param onMissed task instance changes whose row had moved on, after each flush. */
  constructor(private readonly onMissed: (missed: readonly TiChange[]) => void) {}

  ti(change: TiChange): void {
    push(this.tis, tiKeyText(change), change);
  }

  tryChange(change: TryChange): void {
    push(this.tries, tryKeyText(change), change);
  }

  insertTries(rows: readonly NewTry[]): void {
    this.newTries.push(...rows);
  }

  get empty(): boolean {
    return this.newTries.length === 0 && this.tries.size === 0 && this.tis.size === 0;
  }

  async flush(tx: Store): Promise<void> {
    if (this.empty) return;
    const newTries = this.newTries.splice(0);
    if (newTries.length) await tx.insertTries(newTries);
    // A try's change that misses is not an error: the try had ended another way.
    for (const round of rounds(this.tries)) await tx.applyTryChanges(round);
    for (const round of rounds(this.tis)) {
      const missed = await tx.applyTiChanges(round);
      if (missed.length) this.onMissed(missed);
    }
  }

  /** Drops what was not sent (the transaction failed). */
  discard(): void {
    this.newTries = [];
    this.tries.clear();
    this.tis.clear();
  }

  /** `tx` whose methods flush this buffer before they run. */
  wrap(tx: Store): Store {
    return new Proxy(tx, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return async (...args: unknown[]) => {
          await this.flush(target);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
}

function push<C>(m: Map<string, C[]>, key: string, c: C): void {
  const list = m.get(key);
  if (list) list.push(c);
  else m.set(key, [c]);
}

/** Empties `m` into rounds: each key's first change, then its second, and so on. */
function rounds<C>(m: Map<string, C[]>): C[][] {
  const out: C[][] = [];
  for (const list of m.values()) list.forEach((c, i) => (out[i] ??= []).push(c));
  m.clear();
  return out;
}
