/**
 * The shared executor conformance suite (src/executors/conformance.ts) against the
 * Kubernetes executor on the KWOK test cluster.
 *
 * KWOK simulates the kubelet: no container runs, so a task's `sh -c` script never executes.
 * `simulate` below reads the few things the suite's scripts do (exit with a code, printf a
 * result, sleep) and turns them into sim.trainyard.dev/* pod annotations, so the executor's
 * side of those tests is exercised for real. What a simulated kubelet cannot do at all:
 * - print the task's own lines (every pod logs the same canned text), so assertions on log
 *   lines, stderr in reasons and metric lines from the script fail;
 * - pass env values into a result, write files in a shared directory (heartbeats, run
 *   counters), start a missing command (StartError), kill a process tree, assign GPUs.
 * The suite has no capability flags yet to skip those tests, so this file runs only with
 * TRAINYARD_K8S_CONFORMANCE=1, and its expected failures are listed in docs/kubernetes.md.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { executorConformance } from '../../src/executors/conformance.js';
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

let cluster: TestCluster;
let ns: string;

describe.runIf(clusterAvailable() && process.env.TRAINYARD_K8S_CONFORMANCE === '1')('conformance on KWOK', () => {
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
    { image: 'busybox:1.36', timeScale: 3 },
  );
});
