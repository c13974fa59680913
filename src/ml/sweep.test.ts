import { describe, expect, it } from 'vitest';
import { bestSoFar, bestTrial, defaultObjective, guessDirection, type TrialSummary, trialRows } from './sweep.js';

const trial = (mapIndex: number, endDate: number | null, final: Record<string, number>, range?: [number, number], params: Record<string, unknown> = {}): TrialSummary => ({
  mapIndex,
  tryNumber: 1,
  state: endDate === null ? 'running' : 'success',
  failureClass: null,
  params,
  startDate: 0,
  endDate,
  final,
  ...(range ? { objectiveRange: { min: range[0], max: range[1] } } : {}),
});

describe('sweeps', () => {
  it('guesses the direction from the name and prefers a validation metric every trial reports as the objective', () => {
    expect(guessDirection('val_loss')).toBe('min');
    expect(guessDirection('rmse')).toBe('min');
    expect(guessDirection('accuracy')).toBe('max');
    expect(defaultObjective([trial(0, 1, { loss: 1, val_acc: 0.5 }), trial(1, 2, { loss: 1, val_acc: 0.6 })])).toBe('val_acc');
    // val_acc is not reported by every trial: the common metric wins.
    expect(defaultObjective([trial(0, 1, { loss: 1, val_acc: 0.5 }), trial(1, 2, { loss: 1 })])).toBe('loss');
    expect(defaultObjective([trial(0, 1, {})])).toBeUndefined();
  });

  it('ranks trials and tracks the best so far in the order they finished', () => {
    const trials = [
      trial(2, 200, { loss: 0.6 }, [0.2, 0.8], { lr: 0.3 }),
      trial(0, 300, { loss: 0.5 }, [0.5, 0.9], { lr: 0.1 }),
      trial(1, 100, { loss: 0.7 }, [0.7, 0.8], { lr: 0.2 }),
      trial(3, null, { loss: 0.1 }, [0.1, 0.1], { lr: 0.4 }),
    ];
    const rows = trialRows(trials, 'min');
    expect(rows.map((r) => [r.mapIndex, r.final.loss, r.bestValue])).toEqual([
      [0, 0.5, 0.5],
      [1, 0.7, 0.7],
      [2, 0.6, 0.2],
      [3, 0.1, 0.1],
    ]);
    expect(trialRows(trials, 'max').map((r) => r.bestValue)).toEqual([0.9, 0.8, 0.8, 0.1]);
    expect(bestTrial(rows, 'loss', 'min')?.mapIndex).toBe(3);
    // Only finished trials: 1 (0.7), then 2 (0.6), then 0 (0.5).
    expect(bestSoFar(rows, 'loss', 'min').map((b) => [b.mapIndex, b.best, b.bestMapIndex])).toEqual([
      [1, 0.7, 1],
      [2, 0.6, 2],
      [0, 0.5, 0],
    ]);
    expect(bestSoFar(rows, 'loss', 'max').map((b) => b.bestMapIndex)).toEqual([1, 1, 1]);
  });
});
