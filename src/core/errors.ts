/** Errors with a stable code. Messages say what is wrong and what to do next. */
export class TrainyardError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainyardError';
  }
}

/** A DAG that cannot be built: a cycle, a duplicate id, an unknown upstream... */
export class DagValidationError extends TrainyardError {
  constructor(
    code: string,
    message: string,
    readonly dagId?: string,
  ) {
    super(code, message);
    this.name = 'DagValidationError';
  }
}
