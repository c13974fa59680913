import type { DagSpec } from '../core/spec.js';

/** Parent → child: parse one file. */
export interface ParseRequest {
  readonly type: 'parse';
  readonly id: number;
  readonly file: string;
}

/** Child → parent: the DAGs a file defines, and what went wrong. */
export interface ParseReply {
  readonly type: 'parsed';
  readonly id: number;
  readonly file: string;
  readonly dags: readonly { readonly dagId: string; readonly spec: DagSpec }[];
  /** An error that stopped the file from loading, or a DAG in it from building. */
  readonly errors: readonly string[];
  readonly durationMs: number;
}
