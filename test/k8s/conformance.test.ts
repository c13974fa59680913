/**
 * The shared executor conformance suite (src/executors/conformance.ts) against the
 * Kubernetes executor on the KWOK test cluster.
 *
 * KWOK simulates the kubelet: no container runs, so a task's `sh -c` script never executes.
 * `simulate` below reads the few things the suite's scripts do (exit with a code, printf a
 * result, sleep) and turns them into sim.trainyard.dev/* pod annotations, so the executor's
 * side of those tests is exercised for real. The executor under test declares no
 * capabilities: a simulated kubelet cannot print the task's own lines, pass env values into a
 * result, write files in a shared directory, start a missing command, kill a process tree or
 * assign GPUs. The suite skips the tests that need those, naming the capability and why; every
 * other test runs and must pass. test/k8s/executor.test.ts covers the same ground where KWOK
 * can show it (idempotent launch, timeouts, failure classes, logs and metric lines).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { executorConformance, type ExecutorCapability } from '../../src/executors/conformance.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/kubernetes-executor.js';
import type { CommandLaunch } from '../../src/executors/types.js';
import { CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, freshNamespace, type TestCluster } from './cluster.js';

const SIM = 'sim.trainyard.dev/';

/** The sim annotations for what a conformance script would do. */
export function simulate(req: CommandLaunch): Record<string, string> {
  const script = req.args[req.args.length - 1] ?? '';
  const ann: Record<string, string> = { [`${SIM}duration`]: '100ms' };
  const exit = /(?:^|[;&|]\s*)exit (\d+)\s*$/.exec(script);
  if (exit && exit[1] !== '0') {
    ann[`${SIM}outcome`] = 'fail';
    ann[`${SIM}exit-code`] = exit[1];
  }
  const printf = /printf '([^'%]*)' > "\$TRAINYARD_RESULT_PATH"/.exec(script) ?? /printf "([^"%]*)" > "\$TRAINYARD_RESULT_PATH"/.exec(script);
  if (printf) ann[`${SIM}result`] = printf[1];
  const zeros = /head -c (\d+) \/dev\/zero/.exec(script);
  if (zeros && script.includes('TRAINYARD_RESULT_PATH')) ann[`${SIM}result`] = JSON.stringify('x'.repeat(Number(zeros[1])));
  const sleep = /sleep (\d+(?:\.\d+)?)/.exec(script);
  if (sleep) ann[`${SIM}duration`] = `${Math.max(0.1, Number(sleep[1]))}s`;
  if (/while true/.test(script)) ann[`${SIM}duration`] = '1h';
  return ann;
}

const NO_CONTAINER = 'KWOK plays the kubelet and runs no container';

/** Why the simulated cluster lacks each capability of the suite. */
export const KWOK_LACKS: Readonly<Record<ExecutorCapability, string>> = {
  taskOutput: `${NO_CONTAINER}; every pod logs the same canned lines`,
  envInResult: `${NO_CONTAINER}, so no script reads its env`,
  sharedFiles: `${NO_CONTAINER}, so nothing writes to the test's directory`,
  missingCommand: `${NO_CONTAINER}, so no command can be missing (a StartError needs a container runtime)`,
  processTreeKill: `${NO_CONTAINER}, so there is no process tree to stop`,
  gpus: 'no device plugin runs, so nothing sets CUDA_VISIBLE_DEVICES in a pod',
};

let cluster: TestCluster;
let ns: string;

describe.runIf(clusterAvailable())('conformance on KWOK', () => {
  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-conformance');
  }, CLUSTER_START_TIMEOUT_MS);
  afterAll(async () => {
    if (cluster && ns) await dropNamespace(cluster, ns);
  });

  executorConformance(
    'KubernetesExecutor (KWOK)',
    async () => {
      const executor = new KubernetesExecutor({
        id: 'k8s-conformance',
        kubeconfigPath: cluster.kubeconfig,
        namespace: ns,
        defaultImage: 'busybox:1.36',
        onClose: 'delete',
        decoratePod: (pod: V1Pod, req: CommandLaunch) => ({
          ...pod,
          metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...simulate(req) } },
        }),
      });
      return {
        executor,
        cleanup: () => executor.close(),
      };
    },
    { image: 'busybox:1.36', timeScale: 3, capabilities: [], lacking: KWOK_LACKS },
  );
});
