/**
 * A try's result from its container's termination message: the file at
 * TRAINYARD_RESULT_PATH, which the kubelet copies into `state.terminated.message`. Real
 * kubelets keep at most 4,096 bytes of it (and 12 KiB across the pod's containers), so a
 * result that reaches that size was cut: the try fails with a message that says so and
 * points to the artifact store. Pure.
 */
import { parseResultText, type ResultRead } from '../local/result-file.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function terminationMessageLimitMessage(bytes: number, limit: number): string {
  return (
    `the result is ${fmt(bytes)} bytes, which reaches the ${fmt(limit)}-byte limit of a Kubernetes termination message ` +
    `(the kubelet keeps at most ${fmt(limit)} bytes, so the result was cut); write large outputs to the artifact store ` +
    `(TRAINYARD_ARTIFACTS_URI) and return their URI`
  );
}

/** Parses a termination message as the try's result. An empty or absent message is a null result. */
export function parseTerminationResult(message: string | null | undefined, resultLimitBytes: number, terminationLimitBytes: number): ResultRead {
  if (message === null || message === undefined || message.trim() === '') return { ok: true, value: null };
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes >= terminationLimitBytes) return { ok: false, message: terminationMessageLimitMessage(bytes, terminationLimitBytes) };
  return parseResultText(message, resultLimitBytes);
}
