/** The files the Kubernetes executor reads: the kubeconfig and pod templates (YAML). */
import { readFile } from 'node:fs/promises';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { KubernetesExecutorOptions } from './options.js';
import { PodSpecError } from './pod-spec.js';

/** Loads the kubeconfig: a path, else the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
export async function loadKubeConfig(o: KubernetesExecutorOptions): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (o.kubeconfigPath) kc.loadFromFile(o.kubeconfigPath);
  else kc.loadFromDefault();
  if (o.context) kc.setCurrentContext(o.context);
  return kc;
}

/** A pod template given as an object, or read from a YAML file. */
export async function loadTemplate(t: V1Pod | string | undefined): Promise<V1Pod | undefined> {
  if (t === undefined || typeof t === 'object') return t;
  const { loadYaml } = await import('@kubernetes/client-node');
  let text: string;
  try {
    text = await readFile(t, 'utf8');
  } catch (err) {
    throw new PodSpecError(`cannot read the pod template ${JSON.stringify(t)}: ${(err as Error).message}`);
  }
  const pod = loadYaml<V1Pod>(text);
  if (!pod || typeof pod !== 'object') throw new PodSpecError(`the pod template ${JSON.stringify(t)} is not a YAML object`);
  return pod;
}
