import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { TrainyardError } from '../core/errors.js';

/** One problem with one input field. */
export interface ErrorDetail {
  readonly field: string;
  readonly reason: string;
}

/** The body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: readonly ErrorDetail[] };
}

/** An error with its HTTP status; the server turns it into the one error format. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details?.length ? { details: this.details } : {}) } };
  }
}

export function notFound(code: string, message: string): ApiError {
  return new ApiError(404, code, message);
}

export function invalid(message: string, details: readonly ErrorDetail[]): ApiError {
  return new ApiError(400, 'INVALID_REQUEST', message, details);
}

/** HTTP status of a TrainyardError, by its code. */
function statusOf(code: string): ContentfulStatusCode {
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code.endsWith('_EXISTS') || code === 'ILLEGAL_TRANSITION') return 409;
  if (code.startsWith('INVALID_') || code.endsWith('_INVALID') || code.startsWith('UNKNOWN_') || code === 'BACKFILL_TOO_LARGE') return 400;
  if (code === 'DB_LOCKED') return 503;
  return 500;
}

/** Maps errors from the layers below onto API errors. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof TrainyardError) return new ApiError(statusOf(e.code), e.code, e.message);
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ILLEGAL_TRANSITION') return new ApiError(409, code, (e as Error).message);
  return new ApiError(500, 'INTERNAL', 'internal error; the server log has the details');
}

/** One detail per problem in a zod error; `where` prefixes the field (`query`, `path`, `body`). */
export function zodDetails(error: z.ZodError, where: string): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    const base = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details.push({ field: `${base}.${key}`, reason: 'unknown field' });
    } else {
      details.push({ field: base, reason: issueReason(issue) });
    }
  }
  return details;
}

function issueReason(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    if (typeof issue.input === 'number' && Number.isNaN(issue.input)) return `must be ${issue.expected === 'int' ? 'an integer' : 'a number'}`;
    // A fraction where a whole number is wanted: the schema's own words when it has them.
    if (issue.expected === 'int' && typeof issue.input === 'number') return issue.message.startsWith('Invalid input') ? 'must be a whole number' : issue.message;
    return `must be ${issue.expected}, not ${typeName(issue.input)}`;
  }
  return issue.message;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
