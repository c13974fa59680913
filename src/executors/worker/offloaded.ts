/**
 * The worker's side of results kept in the artifact store: it reads the references a job's
 * values point to before user code runs, and writes a return value or a command's result file
 * over the inline limit to the store, so that no large value is parsed in the scheduler's
 * process.
 */
import { resolveResult } from '../../artifacts/offload.js';
import { evaluateDeferred, type ResolvedValues } from '../deferred.js';
import { acceptResultText, readResultFile } from '../local/result-file.js';
import { ResultStores } from '../result-store.js';
import type { DoneMessage, JobMessage, StoreResultMessage } from './protocol.js';

const stores = new ResultStores();

/** Reads the references of a job's deferred values and evaluates them. Throws with a message that names what could not be read. */
export async function readDeferred(job: JobMessage): Promise<ResolvedValues | undefined> {
  const d = job.deferred;
  if (!d) return undefined;
  if (!job.results) throw new Error('an upstream result is kept in the artifact store, but this worker was given no artifact store to read it from');
  let results: Record<string, unknown>;
  try {
    const store = await stores.get(job.results.store);
    results = (await resolveResult(d.results, store)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`could not read an upstream result from the artifact store ${job.results.store.uri}: ${(err as Error).message}`);
  }
  return evaluateDeferred(d, job.context, results);
}

/**
 * A return value's JSON as it is to be reported: unchanged up to the inline limit, else the
 * JSON of its reference once it is in the store. A message when it cannot be kept.
 */
export async function storeReturnValue(json: string, job: JobMessage): Promise<{ readonly json: string } | { readonly message: string }> {
  const r = job.results;
  if (!r || Buffer.byteLength(json, 'utf8') <= r.limitBytes) return { json };
  const read = await acceptResultText(json, r.limitBytes, stores.target(r.store, job.context));
  return read.ok ? { json: JSON.stringify(read.value) } : { message: read.message };
}

/** A command's result file over the inline limit: checked, written to the store, and reported as its reference's JSON. */
export async function storeResultFile(msg: StoreResultMessage): Promise<DoneMessage> {
  const read = await readResultFile(msg.resultPath, msg.results.limitBytes, stores.target(msg.results.store, msg.key));
  if (!read.ok) return { type: 'done', id: msg.id, ok: false, skip: false, kind: 'result_invalid', error: { name: 'Error', message: read.message } };
  return { type: 'done', id: msg.id, ok: true, resultJson: JSON.stringify(read.value) };
}
