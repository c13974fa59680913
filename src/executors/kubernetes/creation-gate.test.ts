import { afterEach, describe, expect, it, vi } from 'vitest';
import { CreationGate, HeldQueue } from './creation-gate.js';

/** A promise with its resolver, to hold a creation in flight. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('creations first', () => {
  afterEach(() => vi.useRealTimers());

  it('housekeeping waits while creations are pending and goes as soon as the last one settles', async () => {
    const gate = new CreationGate(60_000);
    const a = deferred();
    const b = deferred();
    const runs = [gate.run(() => a.promise), gate.run(() => b.promise)];
    expect(gate.busy).toBe(true);
    let released = false;
    void gate.after().then(() => (released = true));
    a.resolve();
    await runs[0];
    await Promise.resolve();
    expect(released).toBe(false);
    expect(gate.busy).toBe(true);
    b.resolve();
    await runs[1];
    await Promise.resolve();
    expect(released).toBe(true);
    expect(gate.busy).toBe(false);
  });

  it('a failed creation counts as settled, and its error reaches the caller', async () => {
    const gate = new CreationGate(60_000);
    await expect(gate.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(gate.busy).toBe(false);
  });

  it('with nothing pending, housekeeping does not wait', async () => {
    const gate = new CreationGate(60_000);
    let released = false;
    void gate.after().then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(true);
  });

  it('never waits longer than its limit, however long creations go on', async () => {
    vi.useFakeTimers();
    const gate = new CreationGate(5000);
    const a = deferred();
    const run = gate.run(() => a.promise);
    let released = false;
    void gate.after().then(() => (released = true));
    await vi.advanceTimersByTimeAsync(4999);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(true);
    expect(gate.busy).toBe(true);
    a.resolve();
    await run;
    expect(gate.busy).toBe(false);
  });
});

describe('housekeeping requests', () => {
  afterEach(() => vi.useRealTimers());

  it('wait for the creations; past the limit, while creations go on, they trickle a few at a time', async () => {
    vi.useFakeTimers();
    const gate = new CreationGate(5000, 2);
    const creation = deferred();
    const run = gate.run(() => creation.promise);
    const holds = Array.from({ length: 5 }, () => deferred());
    let started = 0;
    const jobs = holds.map((h) => gate.housekeeping(() => (started++, h.promise)));
    await vi.advanceTimersByTimeAsync(4999);
    expect(started).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toBe(2);
    holds[0].resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toBe(3);
    creation.resolve();
    await run;
    // Once the creations are done, new housekeeping no longer queues behind the trickle.
    const after = gate.housekeeping(async () => 'at once');
    await expect(after).resolves.toBe('at once');
    for (const h of holds) h.resolve();
    await Promise.all(jobs);
    expect(started).toBe(5);
  });
});

describe('work held while creations are pending', () => {
  const turn = () => new Promise<void>((r) => setImmediate(r));

  it('is handled once the creations are done, a slice per turn of the event loop, and an item taken out is not handled', async () => {
    const gate = new CreationGate(60_000);
    const creation = deferred();
    const run = gate.run(() => creation.promise);
    const handled: number[] = [];
    const queue = new HeldQueue<number>(gate, (n) => handled.push(n), 2);
    for (const n of [1, 2, 3, 4, 5]) queue.add(n);
    queue.delete(4);
    await turn();
    await turn();
    expect(handled).toEqual([]);
    creation.resolve();
    await run;
    await turn();
    expect(handled).toEqual([1, 2]);
    await turn();
    expect(handled).toEqual([1, 2, 3, 5]);
    await turn();
    expect(handled).toEqual([1, 2, 3, 5]);
  });

  it('after a burst, newly held items wait for the next one', async () => {
    const gate = new CreationGate(60_000);
    const handled: string[] = [];
    const queue = new HeldQueue<string>(gate, (s) => handled.push(s));
    queue.add('before');
    await turn();
    await turn();
    expect(handled).toEqual(['before']);
    const creation = deferred();
    const run = gate.run(() => creation.promise);
    queue.add('during');
    await turn();
    await turn();
    expect(handled).toEqual(['before']);
    creation.resolve();
    await run;
    await turn();
    expect(handled).toEqual(['before', 'during']);
  });
});
