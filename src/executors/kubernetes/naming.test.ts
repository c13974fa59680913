import { describe, expect, it } from 'vitest';
import type { TryKey } from '../types.js';
import { ANNOTATIONS, LABELS, labelValue, managedSelector, podName, shortHash, tryAnnotations, tryKeyOfPod, tryLabels } from './naming.js';

const key = (o: Partial<TryKey> = {}): TryKey => ({ dagId: 'train', runId: 'manual__2026-11-21T10:00:00+00:00', taskId: 'fit', mapIndex: -1, tryNumber: 1, ...o });
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('podName', () => {
  it('is deterministic and readable', () => {
    const n = podName(key(), 'trainyard');
    expect(n).toBe(podName(key(), 'trainyard'));
    expect(n).toMatch(/^train-fit-t1-[a-z2-7]{10}$/);
  });

  it('differs for every part of the try key and for the executor id', () => {
    const names = new Set([
      podName(key(), 'trainyard'),
      podName(key({ dagId: 'train2' }), 'trainyard'),
      podName(key({ runId: 'other' }), 'trainyard'),
      podName(key({ taskId: 'fit2' }), 'trainyard'),
      podName(key({ mapIndex: 0 }), 'trainyard'),
      podName(key({ tryNumber: 2 }), 'trainyard'),
      podName(key(), 'other-executor'),
    ]);
    expect(names.size).toBe(7);
  });

  it('shows the map index and try', () => {
    expect(podName(key({ mapIndex: 12, tryNumber: 3 }), 'x')).toMatch(/^train-fit-m12-t3-[a-z2-7]{10}$/);
  });

  it('is a DNS label of at most 63 characters whatever the ids', () => {
    const weird = [
      key({ dagId: 'A'.repeat(300), taskId: 'B'.repeat(300), mapIndex: 99999, tryNumber: 1234 }),
      key({ dagId: '123_numbers_first', taskId: 'group.sub.task_name' }),
      key({ dagId: '---', taskId: '___' }),
      key({ dagId: 'Ünïcödé DAG', taskId: 'tâche 1' }),
      key({ dagId: 'x', taskId: 'features.scale'.repeat(10) }),
    ];
    for (const k of weird) {
      const n = podName(k, 'trainyard');
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(DNS_LABEL);
    }
    expect(podName(weird[1], 'trainyard')).toMatch(/^ty-123-numbers-first-group-sub-task-name-t1-/);
  });
});

describe('labels and annotations', () => {
  it('keeps valid ids as label values and hashes invalid or long ones', () => {
    expect(labelValue('fit')).toBe('fit');
    const run = 'manual__2026-11-21T10:00:00+00:00';
    const v = labelValue(run);
    expect(v).toMatch(LABEL_VALUE);
    expect(v).toContain(shortHash(run));
    expect(labelValue('x'.repeat(100))).toMatch(LABEL_VALUE);
    expect(labelValue('x'.repeat(100)).length).toBeLessThanOrEqual(63);
    expect(labelValue('a:b')).not.toBe(labelValue('a+b'));
    expect(labelValue('::')).toMatch(LABEL_VALUE);
  });

  it('labels every try with the trainyard.dev keys, label-safe', () => {
    const labels = tryLabels(key({ mapIndex: 4, tryNumber: 2 }), 'trainyard');
    expect(labels[LABELS.managedBy]).toBe('trainyard');
    expect(labels[LABELS.dagId]).toBe('train');
    expect(labels[LABELS.taskId]).toBe('fit');
    expect(labels[LABELS.mapIndex]).toBe('4');
    expect(labels[LABELS.tryNumber]).toBe('2');
    expect(tryLabels(key(), 'trainyard')[LABELS.mapIndex]).toBe('none');
    for (const v of Object.values(labels)) expect(v).toMatch(LABEL_VALUE);
    expect(managedSelector('trainyard')).toBe('trainyard.dev/managed-by=trainyard');
  });

  it('keeps the full ids in annotations and reads the key back', () => {
    const k = key({ taskId: 'group.task', mapIndex: 7, tryNumber: 3 });
    const a = tryAnnotations(k);
    expect(a[ANNOTATIONS.runId]).toBe(k.runId);
    expect(a[ANNOTATIONS.tryKey]).toBe(`train/${k.runId}/group.task/7/3`);
    expect(tryKeyOfPod(a)).toEqual(k);
    expect(tryKeyOfPod({})).toBeUndefined();
    expect(tryKeyOfPod(undefined)).toBeUndefined();
  });
});
