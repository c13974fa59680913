/** The URL of a mapped task's sweep view. */
export function sweepHref(dagId: string, runId: string, taskId: string): string {
  return `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/sweeps/${encodeURIComponent(taskId)}`;
}
