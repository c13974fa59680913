import { describe, expect, it } from 'vitest';
import { classifyPod, type PodVerdict } from './classify.js';
import type { ContainerStateJson, PodJson } from './pod-json.js';
import { parseTerminationResult } from './result.js';

const ctx = { containerName: 'task', skipExitCode: 99 };

function pod(o: { node?: string; phase?: string; reason?: string; message?: string; conditions?: NonNullable<PodJson['status']>['conditions']; main?: ContainerStateJson; others?: Record<string, ContainerStateJson>; init?: Record<string, ContainerStateJson> }): PodJson {
  return {
    metadata: { name: 'p', uid: 'u' },
    spec: {
      nodeName: o.node,
      containers: [{ name: 'task', image: 'acme/train:1', resources: { limits: { memory: '512Mi' } } } as { name: string }, ...Object.keys(o.others ?? {}).map((name) => ({ name }))],
      initContainers: Object.keys(o.init ?? {}).map((name) => ({ name })),
    },
    status: {
      phase: o.phase ?? 'Pending',
      reason: o.reason,
      message: o.message,
      conditions: o.conditions,
      containerStatuses: o.main || o.others ? [...(o.main ? [{ name: 'task', state: o.main }] : []), ...Object.entries(o.others ?? {}).map(([name, state]) => ({ name, state }))] : undefined,
      initContainerStatuses: o.init ? Object.entries(o.init).map(([name, state]) => ({ name, state })) : undefined,
    },
  };
}

const terminated = (exitCode: number, reason?: string, message?: string): ContainerStateJson => ({ terminated: { exitCode, reason, message } });
const failed = (v: PodVerdict) => {
  if (v.kind !== 'terminal') throw new Error(`expected terminal, got ${v.kind}`);
  return v;
};

describe('classifyPod: before running', () => {
  it('Pending without a node is unscheduled, with the scheduler reason', () => {
    expect(classifyPod(pod({}), ctx)).toEqual({ kind: 'unscheduled', reason: null });
    const msg = '0/7 nodes are available: 4 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint {nvidia.com/gpu: present}.';
    const v = classifyPod(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }] }), ctx);
    expect(v).toEqual({ kind: 'unscheduled', reason: msg });
  });

  it('bound to a node but not running is starting, with the waiting reason', () => {
    expect(classifyPod(pod({ node: 'n1' }), ctx)).toEqual({ kind: 'starting', node: 'n1', waiting: null });
    expect(classifyPod(pod({ node: 'n1', main: { waiting: { reason: 'ContainerCreating' } } }), ctx)).toEqual({ kind: 'starting', node: 'n1', waiting: 'ContainerCreating' });
  });

  it('running when the main container runs', () => {
    expect(classifyPod(pod({ node: 'n1', phase: 'Running', main: { running: { startedAt: 'x' } } }), ctx)).toEqual({ kind: 'running', node: 'n1' });
  });

  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']) {
    it(`${reason} fails fast as image_pull, naming the image`, () => {
      const v = classifyPod(pod({ node: 'n1', main: { waiting: { reason, message: 'not found' } } }), ctx);
      expect(v).toMatchObject({ kind: 'fail_fast', failureClass: 'image_pull' });
      expect((v as { reason: string }).reason).toContain('"acme/train:1"');
      expect((v as { reason: string }).reason).toContain(`${reason}: not found`);
    });
  }

  it('an init container that cannot pull fails fast too', () => {
    const v = classifyPod(pod({ node: 'n1', init: { fetch: { waiting: { reason: 'ImagePullBackOff' } } } }), ctx);
    expect(v).toMatchObject({ kind: 'fail_fast', failureClass: 'image_pull' });
    expect((v as { reason: string }).reason).toContain('init container "fetch"');
  });

  it('CreateContainerConfigError fails fast as config', () => {
    const v = classifyPod(pod({ node: 'n1', main: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "wandb" not found' } } }), ctx);
    expect(v).toMatchObject({ kind: 'fail_fast', failureClass: 'config' });
    expect((v as { reason: string }).reason).toMatch(/CreateContainerConfigError: secret "wandb" not found.*Secrets, ConfigMaps/);
  });
});

describe('classifyPod: outcomes', () => {
  it('Succeeded is success with the termination message', () => {
    const v = failed(classifyPod(pod({ node: 'n1', phase: 'Succeeded', main: terminated(0, 'Completed', '{"a":1}') }), ctx));
    expect(v).toMatchObject({ outcome: 'success', exitCode: 0, message: '{"a":1}' });
  });

  it('the skip code is skipped', () => {
    expect(failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(99, 'Error') }), ctx))).toMatchObject({ outcome: 'skipped', exitCode: 99 });
    expect(failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(42, 'Error') }), { ...ctx, skipExitCode: 42 }))).toMatchObject({ outcome: 'skipped' });
  });

  it('OOMKilled is oom_killed with the limit in plain words', () => {
    const v = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(137, 'OOMKilled') }), ctx));
    expect(v).toMatchObject({ outcome: 'failed', failureClass: 'oom_killed', exitCode: 137 });
    expect(v.reason).toBe('container "task" used more than its memory limit of 512Mi and was killed (OOMKilled, exit code 137)');
  });

  it('a non-zero exit is user_error with the code, the reason, and the log tail from the message', () => {
    const v = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(3, 'Error', 'loading\ncould not load the data set\n') }), ctx));
    expect(v).toMatchObject({ outcome: 'failed', failureClass: 'user_error', exitCode: 3 });
    expect(v.reason).toContain('exited with code 3 (Error)');
    expect(v.reason).toContain('could not load the data set');
  });

  it('a command missing from the image is user_error naming it', () => {
    const msg = 'failed to create containerd task: exec: "trainyard-no-such-command": executable file not found in $PATH';
    const v = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(128, 'StartError', msg) }), ctx));
    expect(v).toMatchObject({ failureClass: 'user_error' });
    expect(v.reason).toContain('trainyard-no-such-command');
  });

  it('Evicted is evicted, with the kubelet message', () => {
    const v = failed(
      classifyPod(
        pod({
          node: 'n1',
          phase: 'Failed',
          reason: 'Evicted',
          message: 'The node was low on resource: memory.',
          conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }],
          main: terminated(137, 'Error'),
        }),
        ctx,
      ),
    );
    expect(v).toMatchObject({ failureClass: 'evicted' });
    expect(v.reason).toBe('the pod was evicted on node n1 (Evicted: The node was low on resource: memory.)');
  });

  it('DisruptionTarget tells preemption, eviction and node loss apart', () => {
    const by = (reason: string) =>
      failed(classifyPod(pod({ node: 'n1', phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message: 'm' }], main: terminated(143, 'Error') }), ctx));
    expect(by('PreemptionByScheduler')).toMatchObject({ failureClass: 'preempted' });
    expect(by('PreemptionByScheduler').reason).toContain('higher-priority pod (PreemptionByScheduler: m)');
    expect(by('EvictionByEvictionAPI')).toMatchObject({ failureClass: 'evicted' });
    expect(by('TerminationByKubelet')).toMatchObject({ failureClass: 'evicted' });
    expect(by('DeletionByTaintManager')).toMatchObject({ failureClass: 'lost' });
    expect(by('DeletionByPodGC')).toMatchObject({ failureClass: 'lost' });
  });

  it('node loss and deadline', () => {
    expect(failed(classifyPod(pod({ node: 'n1', phase: 'Failed', reason: 'NodeLost', message: 'node gone' }), ctx))).toMatchObject({ failureClass: 'lost' });
    const d = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }), ctx));
    expect(d).toMatchObject({ failureClass: 'execution_timeout' });
    expect(d.reason).toContain('activeDeadlineSeconds');
  });

  it('a failed init container or sidecar is named', () => {
    const i = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', init: { fetch: terminated(2, 'Error') } }), ctx));
    expect(i).toMatchObject({ failureClass: 'user_error' });
    expect(i.reason).toBe('init container "fetch" exited with code 2 (Error); the main container did not run');
    const s = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', main: terminated(0, 'Completed'), others: { proxy: terminated(1, 'Error') } }), ctx));
    expect(s.reason).toBe('sidecar container "proxy" exited with code 1 (Error)');
  });

  it('the main container ending decides the try while a sidecar still runs', () => {
    const v = classifyPod(pod({ node: 'n1', phase: 'Running', main: terminated(0, 'Completed', 'null'), others: { proxy: { running: {} } } }), ctx);
    expect(v).toMatchObject({ kind: 'terminal', outcome: 'success' });
  });

  it('never says "because of None": every failure has plain words', () => {
    const v = failed(classifyPod(pod({ node: 'n1', phase: 'Failed' }), ctx));
    expect(v.failureClass).toBe('lost');
    expect(v.reason).toBe('the pod failed on node n1 without a reason from Kubernetes and with no container status');
    const w = failed(classifyPod(pod({ node: 'n1', phase: 'Failed', reason: 'UnexpectedAdmissionError', message: 'Allocate failed' }), ctx));
    expect(w.reason).toBe('the pod failed on node n1 (UnexpectedAdmissionError: Allocate failed)');
  });
});

describe('parseTerminationResult', () => {
  it('parses JSON; empty or absent is null', () => {
    expect(parseTerminationResult('{"answer": 42}', 65536, 4096)).toEqual({ ok: true, value: { answer: 42 } });
    expect(parseTerminationResult('', 65536, 4096)).toEqual({ ok: true, value: null });
    expect(parseTerminationResult(null, 65536, 4096)).toEqual({ ok: true, value: null });
  });

  it('invalid JSON is an error that says so', () => {
    const r = parseTerminationResult('accuracy=0.9', 65536, 4096);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/not valid JSON/);
  });

  it('a message at the kubelet limit was cut: a clear error pointing to the artifact store', () => {
    const r = parseTerminationResult(`"${'x'.repeat(4094)}"`, 65536, 4096);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe(
      'the result is 4,096 bytes, which reaches the 4,096-byte limit of a Kubernetes termination message (the kubelet keeps at most 4,096 bytes, so the result was cut); write large outputs to the artifact store (TRAINYARD_ARTIFACTS_URI) and return their URI',
    );
  });

  it('the task result limit applies below the kubelet limit', () => {
    const r = parseTerminationResult(`"${'x'.repeat(2000)}"`, 1000, 4096);
    expect(!r.ok && r.message).toMatch(/over the 1,000-byte limit.*artifact store/);
  });
});
