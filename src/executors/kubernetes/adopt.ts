/**
 * After a restart: adopt() takes back the pods of live tries (found by their deterministic
 * name, checked by their try annotation and uid, followed again from where their log left
 * off), and reap() deletes the executor's pods whose DAG run no longer exists.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { tryKeyString, type AdoptResult, type LiveTryRecord } from '../types.js';
import { KubeApiError, type KubeApiClient } from './api-client.js';
import { classifyPod } from './classify.js';
import type { ExecutorContext } from './context.js';
import type { LiveTries } from './live-tries.js';
import { managedSelector, podName, tryKeyOfPod } from './naming.js';
import type { ListJson, PodJson } from './pod-json.js';
import { podGpus } from './pod-spec.js';
import { lastLoggedTimestamp, LAUNCH_ANNOTATION, newPodTry, podPath, podsPath, type LaunchInfo, type PodTry } from './pod-try.js';
import type { PodWatch } from './pod-watch.js';
import type { TryLogs } from './try-logs.js';

/** A record to adopt, with where its pod should be. */
interface Wanted {
  readonly r: LiveTryRecord;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
}

export class PodRecovery {
  constructor(
    private readonly ctx: ExecutorContext,
    private readonly tries: LiveTries,
    private readonly logs: TryLogs,
    private readonly watch: PodWatch,
  ) {}

  /**
   * Takes back the pods of live tries after a restart: the pod of each record is found by
   * its deterministic name and checked by its try annotation (and its uid, when the record
   * has one: `external` is `name/uid`, or `namespace/name/uid` outside the default
   * namespace). A pod still running is followed again; one that finished while nobody
   * watched is reported from its status.
   */
  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    const wanted = records.map((r): Wanted => {
      const parts = (r.external ?? '').split('/').filter((p) => p !== '');
      const namespace = parts.length >= 3 ? parts[0] : this.ctx.namespace();
      const uid = parts.length >= 3 ? parts[2] : parts.length === 2 ? parts[1] : undefined;
      return { r, namespace, uid, name: podName(r.key, this.ctx.id) };
    });
    const pods = new Map<string, PodJson>();
    for (const ns of new Set(wanted.map((w) => w.namespace))) {
      for await (const items of managedPodPages(this.ctx.client(), ns, this.ctx.id)) {
        for (const p of items) pods.set(`${ns}/${p.metadata.name}`, p);
      }
    }
    const results: AdoptResult[] = [];
    for (const w of wanted) {
      const key = w.r.key;
      if (this.tries.has(tryKeyString(key))) {
        results.push({ key, adopted: true });
        continue;
      }
      const found = checkPod(w, pods.get(`${w.namespace}/${w.name}`));
      if ('reason' in found) {
        results.push({ key, adopted: false, reason: found.reason });
        continue;
      }
      const t = await this.take(w, found.pod, found.info);
      results.push({ key, adopted: true });
      this.watch.onPodStatus(t, found.pod);
    }
    for (const ns of new Set(wanted.map((w) => w.namespace))) await this.watch.ensure(ns);
    return results;
  }

  /**
   * Deletes pods of this executor whose DAG run no longer exists (`runExists` answers from
   * the store). Pods of tries this process follows are left alone. Returns the deleted pods.
   */
  async reap(runExists: (dagId: string, runId: string) => boolean | Promise<boolean>, namespaces?: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    const nss = namespaces ?? [...new Set([this.ctx.namespace(), ...this.watch.namespaces()])];
    const client = this.ctx.client();
    for (const ns of nss) {
      for await (const items of managedPodPages(client, ns, this.ctx.id)) {
        for (const p of items) {
          const key = tryKeyOfPod(p.metadata.annotations);
          if (!key || this.tries.has(tryKeyString(key))) continue;
          if (await runExists(key.dagId, key.runId)) continue;
          try {
            await client.request('DELETE', podPath(ns, p.metadata.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } });
            deleted.push(`${ns}/${p.metadata.name}`);
          } catch (err) {
            if (!(err instanceof KubeApiError && err.status === 404)) throw err;
          }
        }
      }
    }
    return deleted;
  }

  /** Follows the try of an adopted pod again: its clocks resume where they were, its log after the last line written. */
  private async take(w: Wanted, pod: PodJson, info: LaunchInfo): Promise<PodTry> {
    const t = newPodTry(this.ctx.now(), w.r.key, w.namespace, w.name, info, 'unscheduled');
    t.uid = pod.metadata.uid;
    t.rv = pod.metadata.resourceVersion;
    t.exists = true;
    t.createdAt = Date.parse(pod.metadata.creationTimestamp ?? '') || this.ctx.now();
    t.startedEmitted = w.r.startedAt != null || w.r.external != null;
    t.gpus = podGpus(pod as unknown as V1Pod);
    this.tries.add(t);
    this.tries.placed(t);
    t.resumeAfter = (await lastLoggedTimestamp(info.logPath)) ?? undefined;
    t.log = await this.logs.open(info.logPath, t);
    this.logs.note(t, `adopted pod ${t.namespace}/${t.name} (uid ${t.uid}) after a restart`);
    const elapsed = this.ctx.now() - t.createdAt;
    t.timers.unscheduled = setTimeout(() => void this.watch.unschedulableTimeout(t), Math.max(0, info.unscheduledTimeoutMs - elapsed));
    // Already reported started: only the logs and the execution timeout resume.
    const node = pod.spec?.nodeName;
    if (t.startedEmitted && node) {
      t.node = node;
      clearTimeout(t.timers.unscheduled);
      t.phase = 'running';
      const started = w.r.startedAt ?? t.createdAt;
      if (info.executionTimeoutMs) this.watch.executionTimeout(t, Math.max(0, info.executionTimeoutMs - (this.ctx.now() - started)), info.executionTimeoutMs);
      // Running: follow again; finished while nobody watched: the finish reads the rest once.
      if (this.ctx.options.streamLogs !== false) this.logs.follow(t, classifyPod(pod, { containerName: info.container, skipExitCode: info.skipExitCode }).kind === 'running');
    }
    return t;
  }
}

/** The pod of a record when it is the record's try's own, with its launch annotation; else why not. */
function checkPod(w: Wanted, pod: PodJson | undefined): { pod: PodJson; info: LaunchInfo } | { reason: string } {
  const where = `${w.namespace}/${w.name}`;
  if (!pod) return { reason: `its pod ${where} no longer exists (deleted while the scheduler was down, or never created)` };
  const owner = tryKeyOfPod(pod.metadata.annotations);
  if (!owner || tryKeyString(owner) !== tryKeyString(w.r.key)) {
    return { reason: `the pod ${where} belongs to another try (${owner ? tryKeyString(owner) : 'no try annotation'})` };
  }
  if (w.uid && pod.metadata.uid !== w.uid) return { reason: `the pod ${where} has uid ${pod.metadata.uid}, not the recorded ${w.uid}: the try's own pod is gone` };
  try {
    return { pod, info: JSON.parse(pod.metadata.annotations?.[LAUNCH_ANNOTATION] ?? '') as LaunchInfo };
  } catch {
    return { reason: `the pod ${where} has no readable ${LAUNCH_ANNOTATION} annotation` };
  }
}

/** The executor's pods in a namespace, a page (of up to 500) at a time. */
async function* managedPodPages(client: KubeApiClient, ns: string, id: string): AsyncGenerator<readonly PodJson[]> {
  let cont: string | undefined;
  do {
    const page = await client.request<ListJson<PodJson>>('GET', podsPath(ns), { query: { labelSelector: managedSelector(id), limit: 500, continue: cont } });
    yield page.items;
    cont = page.metadata.continue || undefined;
  } while (cont);
}
