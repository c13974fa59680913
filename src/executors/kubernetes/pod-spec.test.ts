import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { CommandLaunch } from '../types.js';
import { podName } from './naming.js';
import type { MachinePreset } from './options.js';
import { buildPod, PodSpecError, podGpus, requestedGpus, resourcesToRequirements, type PodBuildDefaults } from './pod-spec.js';

const KEY = { dagId: 'train', runId: 'r1', taskId: 'fit', mapIndex: 2, tryNumber: 3 };

const A100: MachinePreset = {
  resources: { requests: { cpu: '8', memory: '64Gi', 'nvidia.com/gpu': '1' }, limits: { memory: '64Gi', 'nvidia.com/gpu': '1' } },
  nodeSelector: { 'gpu-type': 'a100' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  priorityClassName: 'training',
  labels: { machine: 'a100' },
};

const defaults = (o: Partial<PodBuildDefaults> = {}): PodBuildDefaults => ({
  executorId: 'trainyard',
  namespace: 'ml',
  image: 'python:3.12',
  resultPath: '/dev/termination-log',
  cpuLimits: false,
  localOnlyEnv: ['TRAINYARD_HOME', 'TRAINYARD_ARTIFACTS_DIR'],
  machines: { 'gpu-a100-1x': A100 },
  unscheduledTimeoutMs: 600_000,
  startupTimeoutMs: 300_000,
  onFinish: 'delete',
  ...o,
});

const req = (o: Partial<CommandLaunch> = {}): CommandLaunch => ({
  kind: 'command',
  key: KEY,
  env: {
    TRAINYARD_DAG_ID: 'train',
    TRAINYARD_RUN_ID: 'r1',
    TRAINYARD_TASK_ID: 'fit',
    TRAINYARD_MAP_INDEX: '2',
    TRAINYARD_TRY_NUMBER: '3',
    TRAINYARD_RESULT_PATH: '/home/alice/.trainyard/work/result.json',
    TRAINYARD_HOME: '/home/alice/.trainyard',
    TRAINYARD_ARTIFACTS_DIR: '/home/alice/.trainyard/artifacts',
    TRAINYARD_CHECKPOINT_DIR: 's3://ckpt/train/fit',
    LR: '0.1',
  },
  resources: { cpu: 2, memoryMb: 4096, gpu: 0 },
  killGraceMs: 30_000,
  logPath: '/tmp/x.log',
  resultPath: '/tmp/result.json',
  resultLimitBytes: 65536,
  command: 'python',
  args: ['train.py', '--epochs', '3'],
  shell: false,
  ...o,
});

const build = (o: Partial<CommandLaunch> = {}, template?: V1Pod, d?: Partial<PodBuildDefaults>) => buildPod({ req: req(o), template, defaults: defaults(d) });
const main = (pod: V1Pod): V1Container => pod.spec!.containers.find((c) => c.name === 'task')!;
const envOf = (c: V1Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

describe('buildPod: the basics', () => {
  it('names, labels and annotates the pod from the try key, in the namespace', () => {
    const b = build();
    expect(b.name).toBe(podName(KEY, 'trainyard'));
    expect(b.pod.metadata!.name).toBe(b.name);
    expect(b.pod.metadata!.namespace).toBe('ml');
    expect(b.namespace).toBe('ml');
    expect(b.pod.metadata!.labels).toMatchObject({
      'trainyard.dev/managed-by': 'trainyard',
      'trainyard.dev/dag-id': 'train',
      'trainyard.dev/run-id': 'r1',
      'trainyard.dev/task-id': 'fit',
      'trainyard.dev/map-index': '2',
      'trainyard.dev/try': '3',
    });
    expect(b.pod.metadata!.annotations).toMatchObject({ 'trainyard.dev/try-key': 'train/r1/fit/2/3', 'trainyard.dev/run-id': 'r1' });
    expect(b.pod.apiVersion).toBe('v1');
    expect(b.pod.kind).toBe('Pod');
  });

  it('runs the command once: restartPolicy Never, image, command and args', () => {
    const b = build();
    expect(b.pod.spec!.restartPolicy).toBe('Never');
    const c = main(b.pod);
    expect(c.image).toBe('python:3.12');
    expect(c.command).toEqual(['python']);
    expect(c.args).toEqual(['train.py', '--epochs', '3']);
    expect(b.containerName).toBe('task');
  });

  it('runs a shell command with its args as positional parameters', () => {
    const c = main(build({ shell: true, command: 'echo "$1"', args: ['hi'] }).pod);
    expect(c.command).toEqual(['/bin/sh', '-c', 'echo "$1"', 'sh']);
    expect(c.args).toEqual(['hi']);
  });

  it('uses the task image over the default, and fails without any image', () => {
    expect(main(build({ image: 'ghcr.io/acme/train:1' }).pod).image).toBe('ghcr.io/acme/train:1');
    expect(() => build({}, undefined, { image: undefined })).toThrow(PodSpecError);
    expect(() => build({}, undefined, { image: undefined })).toThrow(/no container image/);
  });

  it('points the termination message at the result path and passes the contract env', () => {
    const c = main(build().pod);
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const env = envOf(c);
    expect(env).toMatchObject({
      TRAINYARD_DAG_ID: 'train',
      TRAINYARD_RUN_ID: 'r1',
      TRAINYARD_TASK_ID: 'fit',
      TRAINYARD_MAP_INDEX: '2',
      TRAINYARD_TRY_NUMBER: '3',
      TRAINYARD_RESULT_PATH: '/dev/termination-log',
      TRAINYARD_CHECKPOINT_DIR: 's3://ckpt/train/fit',
      LR: '0.1',
    });
    // Paths on the scheduler's machine mean nothing in a pod.
    expect(env.TRAINYARD_HOME).toBeUndefined();
    expect(env.TRAINYARD_ARTIFACTS_DIR).toBeUndefined();
    // Each variable once.
    const names = (c.env ?? []).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('a custom result path is both the termination message path and TRAINYARD_RESULT_PATH', () => {
    const c = main(build({}, undefined, { resultPath: '/tmp/result.json' }).pod);
    expect(c.terminationMessagePath).toBe('/tmp/result.json');
    expect(envOf(c).TRAINYARD_RESULT_PATH).toBe('/tmp/result.json');
  });

  it('sets the grace period from the kill grace unless a layer sets it', () => {
    expect(build({ killGraceMs: 1500 }).pod.spec!.terminationGracePeriodSeconds).toBe(2);
    expect(build({ pod: { terminationGracePeriodSeconds: 120 } }).pod.spec!.terminationGracePeriodSeconds).toBe(120);
  });
});

describe('buildPod: resources', () => {
  it('requests cpu and memory, limits memory, and asks for GPUs and extended resources', () => {
    const c = main(build({ resources: { cpu: 0.5, memoryMb: 1536, gpu: 2, extra: { 'example.com/fpga': '1' } } }).pod);
    expect(c.resources).toEqual({
      requests: { cpu: '500m', memory: '1536Mi', 'nvidia.com/gpu': '2', 'example.com/fpga': '1' },
      limits: { memory: '1536Mi', 'nvidia.com/gpu': '2', 'example.com/fpga': '1' },
    });
  });

  it('limits cpu too when the executor says so', () => {
    expect(resourcesToRequirements({ cpu: 2, memoryMb: 0, gpu: 0 }, true)).toEqual({ requests: { cpu: '2' }, limits: { cpu: '2' } });
  });

  it('a machine preset raises the task figures, never lowers them', () => {
    const b = build({ pod: { machine: 'gpu-a100-1x' }, resources: { cpu: 16, memoryMb: 1024, gpu: 0 } });
    const c = main(b.pod);
    expect(c.resources!.requests).toEqual({ cpu: '16', memory: '64Gi', 'nvidia.com/gpu': '1' });
    expect(c.resources!.limits).toEqual({ memory: '64Gi', 'nvidia.com/gpu': '1' });
    expect(b.pod.spec!.nodeSelector).toEqual({ 'gpu-type': 'a100' });
    expect(b.pod.spec!.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(b.pod.spec!.priorityClassName).toBe('training');
    expect(b.pod.metadata!.labels!.machine).toBe('a100');
    expect(podGpus(b.pod)).toBe(1);
  });

  it('an OOM retry with more memory than the preset gets it (the task figure wins when larger)', () => {
    const c = main(build({ pod: { machine: 'gpu-a100-1x' }, resources: { cpu: 1, memoryMb: 96 * 1024, gpu: 1 } }).pod);
    expect(c.resources!.requests!.memory).toBe('98304Mi');
    expect(c.resources!.limits!.memory).toBe('98304Mi');
  });

  it('raw resources in the task options replace single entries; the trigger replaces those', () => {
    const c = main(
      build({
        pod: {
          resources: { limits: { cpu: '4' }, requests: { 'example.com/nic': '1' } },
          triggerOverrides: { resources: { limits: { cpu: '8' } } },
        },
      }).pod,
    );
    expect(c.resources).toEqual({ requests: { cpu: '2', memory: '4096Mi', 'example.com/nic': '1' }, limits: { memory: '4096Mi', cpu: '8' } });
  });

  it('an unknown machine preset is a clear error naming the known ones', () => {
    expect(() => build({ pod: { machine: 'gpu-h100-8x' } })).toThrow(/unknown machine preset "gpu-h100-8x"; the executor knows "gpu-a100-1x"/);
  });
});

describe('buildPod: placement, volumes, env, identity', () => {
  const full = {
    nodeSelector: { zone: 'a' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu-type', operator: 'In', values: ['a100', 'h100'] }] }] } } },
    tolerations: [{ key: 'spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
    env: [
      { name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key' } } },
      { name: 'DATASET', valueFrom: { configMapKeyRef: { name: 'data', key: 'dataset' } } },
      { name: 'LR', value: '0.2' },
    ],
    envFrom: [{ secretRef: { name: 'common-secrets' } }, { configMapRef: { name: 'common-config' } }],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'imagenet', readOnly: true } },
      { name: 'cfg', configMap: { name: 'train-config' } },
      { name: 'creds', secret: { secretName: 'gcs-creds' } },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
    ],
    volumeMounts: [
      { name: 'data', mountPath: '/data', readOnly: true },
      { name: 'cfg', mountPath: '/etc/train' },
      { name: 'creds', mountPath: '/var/secrets' },
      { name: 'scratch', mountPath: '/scratch' },
    ],
    imagePullSecrets: ['regcred', { name: 'other' }],
    imagePullPolicy: 'Always' as const,
    serviceAccountName: 'trainer',
    priorityClassName: 'high',
    securityContext: { runAsUser: 1000, fsGroup: 2000 },
    containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
    labels: { team: 'vision' },
    annotations: { 'cost-center': '42' },
    initContainers: [{ name: 'fetch', image: 'alpine', command: ['sh', '-c', 'echo fetch'] }],
    sidecars: [{ name: 'proxy', image: 'envoy' }],
    activeDeadlineSeconds: 3600,
  };

  it('carries every pod option into the pod', () => {
    const b = build({ pod: full });
    const spec = b.pod.spec!;
    const c = main(b.pod);
    expect(spec.nodeSelector).toEqual({ zone: 'a' });
    expect(spec.affinity).toEqual(full.affinity);
    expect(spec.tolerations).toEqual(full.tolerations);
    const env = envOf(c);
    expect(env.WANDB_API_KEY).toEqual({ secretKeyRef: { name: 'wandb', key: 'api-key' } });
    expect(env.DATASET).toEqual({ configMapKeyRef: { name: 'data', key: 'dataset' } });
    expect(env.LR).toBe('0.2'); // the task's pod env wins over its plain env
    expect(c.envFrom).toEqual(full.envFrom);
    expect(spec.volumes).toEqual(full.volumes);
    expect(c.volumeMounts).toEqual(full.volumeMounts);
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'other' }]);
    expect(c.imagePullPolicy).toBe('Always');
    expect(spec.serviceAccountName).toBe('trainer');
    expect(spec.priorityClassName).toBe('high');
    expect(spec.securityContext).toEqual({ runAsUser: 1000, fsGroup: 2000 });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(b.pod.metadata!.labels!.team).toBe('vision');
    expect(b.pod.metadata!.annotations!['cost-center']).toBe('42');
    expect(spec.initContainers).toEqual(full.initContainers);
    expect(spec.containers.map((x) => x.name)).toEqual(['task', 'proxy']);
    expect(spec.activeDeadlineSeconds).toBe(3600);
  });

  it('no layer can change the identity env, the trainyard labels, the name or restartPolicy', () => {
    const b = build({
      pod: {
        env: [{ name: 'TRAINYARD_TRY_NUMBER', value: '99' }, { name: 'TRAINYARD_RESULT_PATH', value: '/elsewhere' }],
        labels: { 'trainyard.dev/try': '99', 'trainyard.dev/managed-by': 'someone' },
      },
    });
    expect(envOf(main(b.pod)).TRAINYARD_TRY_NUMBER).toBe('3');
    expect(envOf(main(b.pod)).TRAINYARD_RESULT_PATH).toBe('/dev/termination-log');
    expect(b.pod.metadata!.labels!['trainyard.dev/try']).toBe('3');
    expect(b.pod.metadata!.labels!['trainyard.dev/managed-by']).toBe('trainyard');
  });

  it('rejects unknown keys (a typo must not be ignored) and a sidecar named like the main container', () => {
    expect(() => build({ pod: { nodeselector: { a: 'b' } } })).toThrow(/unknown key "nodeselector" in the task's pod options/);
    expect(() => build({ pod: { triggerOverrides: { namespace: 'x' } } })).toThrow(/unknown key "namespace" in the trigger's pod overrides/);
    expect(() => build({ pod: { sidecars: [{ name: 'task', image: 'x' }] } })).toThrow(/main container's name/);
    expect(() => build({ pod: { unscheduledTimeout: 'soon' } })).toThrow(/unscheduledTimeout/);
  });

  it('a task namespace overrides the executor namespace', () => {
    const b = build({ pod: { namespace: 'team-a' } });
    expect(b.namespace).toBe('team-a');
    expect(b.pod.metadata!.namespace).toBe('team-a');
  });
});

describe('buildPod: precedence template < machine < task < trigger', () => {
  const template: V1Pod = {
    metadata: { labels: { from: 'template', team: 'template' }, annotations: { a: 'template' }, resourceVersion: '12', uid: 'u' },
    spec: {
      nodeName: 'pinned-node',
      serviceAccountName: 'template-sa',
      nodeSelector: { pool: 'general', zone: 'z1' },
      tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      volumes: [{ name: 'shm', emptyDir: { medium: 'Memory' } }],
      containers: [
        {
          name: 'main',
          image: 'template-image',
          env: [{ name: 'FROM', value: 'template' }, { name: 'LR', value: 'template' }],
          volumeMounts: [{ name: 'shm', mountPath: '/dev/shm' }],
          resources: { requests: { cpu: '1', 'example.com/x': '1' } },
        },
        { name: 'logger', image: 'fluent-bit' },
      ],
      restartPolicy: 'Always',
    },
  };

  it('takes the template as the base, its first container as the main one', () => {
    const b = build({ image: undefined }, template);
    expect(b.containerName).toBe('main');
    const c = b.pod.spec!.containers[0];
    expect(c.image).toBe('template-image');
    expect(b.pod.spec!.containers.map((x) => x.name)).toEqual(['main', 'logger']);
    expect(b.pod.spec!.restartPolicy).toBe('Never');
    expect(b.pod.spec!.nodeName).toBeUndefined();
    expect(b.pod.metadata!.resourceVersion).toBeUndefined();
    expect(b.pod.metadata!.uid).toBeUndefined();
    expect(c.volumeMounts).toEqual([{ name: 'shm', mountPath: '/dev/shm' }]);
    expect(c.resources!.requests).toEqual({ cpu: '2', 'example.com/x': '1', memory: '4096Mi' });
    expect(envOf(c)).toMatchObject({ FROM: 'template', LR: '0.1' });
    // The template object is not changed.
    expect(template.spec!.containers[0].env).toHaveLength(2);
  });

  it('applies each layer over the one below', () => {
    const machines = {
      m: { image: 'machine-image', serviceAccountName: 'machine-sa', nodeSelector: { pool: 'gpu' }, labels: { team: 'machine' }, env: [{ name: 'FROM', value: 'machine' }], onFinish: 'keep-failed' as const, startupTimeout: '2m' },
    };
    const b = build(
      {
        image: undefined,
        pod: {
          machine: 'm',
          serviceAccountName: 'task-sa',
          labels: { team: 'task' },
          tolerations: [{ key: 'spot', operator: 'Exists' }],
          unscheduledTimeout: '30s',
          triggerOverrides: { serviceAccountName: 'trigger-sa', image: 'trigger-image', nodeSelector: { zone: 'z9' }, onFinish: 'keep-all' },
        },
      },
      template,
      { machines },
    );
    const spec = b.pod.spec!;
    expect(spec.serviceAccountName).toBe('trigger-sa');
    expect(spec.containers[0].image).toBe('trigger-image');
    expect(spec.nodeSelector).toEqual({ pool: 'gpu', zone: 'z9' });
    expect(b.pod.metadata!.labels).toMatchObject({ from: 'template', team: 'task' });
    expect(spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }, { key: 'spot', operator: 'Exists' }]);
    expect(envOf(spec.containers[0]).FROM).toBe('machine');
    expect(b.onFinish).toBe('keep-all');
    expect(b.unscheduledTimeoutMs).toBe(30_000);
    expect(b.startupTimeoutMs).toBe(120_000);
  });

  it('a trigger may pick another machine', () => {
    const machines = { small: { nodeSelector: { size: 'small' } }, big: { nodeSelector: { size: 'big' } } };
    const b = build({ pod: { machine: 'small', triggerOverrides: { machine: 'big' } } }, undefined, { machines });
    expect(b.pod.spec!.nodeSelector).toEqual({ size: 'big' });
  });

  it('the executor defaults apply when no layer says', () => {
    const b = build();
    expect(b.unscheduledTimeoutMs).toBe(600_000);
    expect(b.startupTimeoutMs).toBe(300_000);
    expect(b.onFinish).toBe('delete');
  });

  it('names the main container by the executor option when the template has several', () => {
    const b = build({}, template, { containerName: 'logger' });
    expect(b.containerName).toBe('logger');
    expect(b.pod.spec!.containers.find((c) => c.name === 'logger')!.command).toEqual(['python']);
    expect(b.pod.spec!.containers.find((c) => c.name === 'main')!.command).toBeUndefined();
  });
});

describe('requestedGpus: what a pool counts before the pod exists', () => {
  const machines = { 'gpu-a100-1x': A100, 'gpu-a100-8x': { resources: { limits: { 'nvidia.com/gpu': '8' } } } };
  const cases: [string, Partial<CommandLaunch>][] = [
    ['the task resources', { resources: { cpu: 1, memoryMb: 1024, gpu: 2 } }],
    ['a preset that raises them', { pod: { machine: 'gpu-a100-8x' }, resources: { cpu: 1, memoryMb: 1024, gpu: 2 } }],
    ['a preset below the task figure', { pod: { machine: 'gpu-a100-1x' }, resources: { cpu: 1, memoryMb: 1024, gpu: 2 } }],
    ['the trigger picking another preset', { pod: { machine: 'gpu-a100-1x', triggerOverrides: { machine: 'gpu-a100-8x' } } }],
    ['raw task resources', { pod: { machine: 'gpu-a100-8x', resources: { limits: { 'nvidia.com/gpu': '3' } } } }],
    ['raw trigger resources', { pod: { resources: { limits: { 'nvidia.com/gpu': '3' } }, triggerOverrides: { resources: { limits: { 'nvidia.com/gpu': '5' } } } } }],
    ['no GPUs at all', {}],
  ];
  it.each(cases)('agrees with the built pod: %s', (_, o) => {
    const r = req(o);
    expect(requestedGpus(r.resources, r.pod, machines)).toBe(podGpus(build(o, undefined, { machines }).pod));
  });

  it('an unknown preset is an error that lists the known ones', () => {
    expect(() => requestedGpus({ cpu: 1, memoryMb: 1, gpu: 0 }, { machine: 'gpu-h100-8x' }, machines)).toThrow(
      'unknown machine preset "gpu-h100-8x"; the executor knows "gpu-a100-1x", "gpu-a100-8x"',
    );
  });
});
