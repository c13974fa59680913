/**
 * A try's log on the Kubernetes executor: the file (metric lines in it become telemetry),
 * its status lines (held while pods are being created), the container log followed into it,
 * and its completion once the try has finished (the follow stream's tail read, the file
 * closed).
 */
import { TryLogWriter } from '../log-writer.js';
import { tryKeyString, type TryKey } from '../types.js';
import type { ExecutorContext } from './context.js';
import { HeldQueue } from './creation-gate.js';
import { LogFollower } from './log-follower.js';
import type { Finish, PodTry } from './pod-try.js';

export class TryLogs {
  /** Logs of finished tries still being completed (their tail read, the file closed). */
  private readonly pending = new Map<string, Promise<void>>();
  /** Tries whose status lines are held while creations are pending. */
  private readonly heldLines: HeldQueue<PodTry>;
  /** Tries whose log follow starts once creations are done (those still running then). */
  private readonly heldFollows: HeldQueue<PodTry>;

  constructor(private readonly ctx: ExecutorContext) {
    this.heldLines = new HeldQueue<PodTry>(ctx.creations, (t) => this.writeHeld(t));
    this.heldFollows = new HeldQueue<PodTry>(ctx.creations, (t) => {
      if (t.phase !== 'done' && t.phase !== 'finishing') t.follower?.start();
    });
  }

  /** Opens the try log; undefined when it cannot be opened (that must not stop the try). */
  async open(path: string, t: PodTry): Promise<TryLogWriter | undefined> {
    try {
      return await TryLogWriter.open(path, {
        now: () => t.lineAt ?? this.ctx.now(),
        onTelemetry: (metrics, params) => this.ctx.emit({ type: 'telemetry', key: t.key, metrics, ...(params ? { params } : {}) }),
      });
    } catch {
      return undefined;
    }
  }

  /**
   * Writes a status line to the try log. While creations are pending the line is held (with
   * its time) and the try's held lines are written together once they are done (HeldQueue),
   * so a burst of launches does not pay a file write per status change.
   */
  note(t: PodTry, message: string): void {
    if (!t.log) return;
    if (!t.held && !this.ctx.creations.busy) {
      t.log.system(message);
      return;
    }
    if (!t.held) {
      t.held = [];
      this.heldLines.add(t);
    }
    t.held.push({ at: this.ctx.now(), message });
  }

  /** Writes the try's held status lines, each with the time it happened. */
  writeHeld(t: PodTry): void {
    const held = t.held;
    if (!held) return;
    t.held = undefined;
    this.heldLines.delete(t);
    const lineAt = t.lineAt;
    for (const h of held) {
      t.lineAt = h.at;
      t.log?.system(h.message);
    }
    t.lineAt = lineAt;
  }

  /** Follows the container log into the try log; with start false, only complete() reads it (once). */
  follow(t: PodTry, start = true): void {
    if (t.follower) return;
    t.follower = new LogFollower({
      client: this.ctx.client(),
      namespace: t.namespace,
      pod: t.name,
      container: t.info.container,
      onLine: (text, at) => {
        this.writeHeld(t);
        t.lineAt = at;
        t.log?.write('stdout', `${text}\n`);
        t.lineAt = null;
      },
    });
    if (t.resumeAfter) t.follower.resumeAfter(t.resumeAfter);
    if (start) this.heldFollows.add(t);
  }

  /**
   * Completes the log of a try that just finished: the follow stream's tail is read (after
   * the creations), the held lines and the end line written, the file closed. Returns the
   * completion (flushed() waits for it), or undefined when the try has no log to complete.
   */
  complete(t: PodTry, f: Finish): Promise<void> | undefined {
    const follower = t.follower;
    const log = t.log;
    if (!follower && !log) return undefined;
    const held = t.held !== undefined;
    const completing = (async () => {
      if (follower) await this.ctx.creations.housekeeping(() => follower.finish());
      else if (held) await this.ctx.creations.after();
      this.writeHeld(t);
      if (log) {
        const what = f.outcome === 'success' ? 'succeeded' : f.outcome === 'skipped' ? `skipped (${f.reason})` : `failed [${f.failureClass}]: ${f.reason}`;
        log.system(`try ${what}`);
        await log.close();
      }
    })();
    this.pending.set(t.keyString, completing);
    void completing.finally(() => {
      if (this.pending.get(t.keyString) === completing) this.pending.delete(t.keyString);
    });
    return completing;
  }

  /** Resolves once the log of a finished try is complete on disk (at once when it is). */
  async flushed(key: TryKey): Promise<void> {
    await this.pending.get(tryKeyString(key));
  }

  /** Resolves once the logs of all finished tries are complete. */
  async allFlushed(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  /** Leaves a try's log as it is when the executor detaches (its pod runs on): stops following, writes what is held, closes the file. */
  async detach(t: PodTry): Promise<void> {
    await t.follower?.stop();
    this.writeHeld(t);
    await t.log?.close();
  }
}
