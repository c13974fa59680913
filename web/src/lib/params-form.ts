/**
 * A trigger form from a DAG's params JSON Schema: the fields, their validation in plain
 * words, and the conf they make. Pure, no DOM.
 */
import type { JsonSchema } from '../api/types.js';

export type FieldKind = 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'json';

export interface ParamField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly label: string;
  readonly description?: string;
  readonly required: boolean;
  readonly nullable: boolean;
  readonly defaultValue: unknown;
  readonly options?: readonly unknown[];
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: number;
  readonly exclusiveMax?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
}

/** What the user typed, field by field: text for inputs, a boolean for checkboxes. */
export type FormValues = Record<string, string | boolean>;

function typeOf(s: JsonSchema): { type: string | undefined; nullable: boolean; schema: JsonSchema } {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const nonNull = alts.filter((a) => a.type !== 'null');
    if (nonNull.length === 1) return { ...typeOf({ ...nonNull[0], default: s.default ?? nonNull[0].default, description: s.description ?? nonNull[0].description }), nullable: nonNull.length < alts.length };
    return { type: undefined, nullable: false, schema: s };
  }
  if (Array.isArray(s.type)) {
    const nonNull = s.type.filter((t) => t !== 'null');
    return { type: nonNull.length === 1 ? nonNull[0] : undefined, nullable: nonNull.length < s.type.length, schema: s };
  }
  return { type: s.type, nullable: false, schema: s };
}

export function paramFields(schema: JsonSchema | null | undefined, defaults: Record<string, unknown> = {}): ParamField[] {
  if (!schema?.properties) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, raw]) => {
    const { type, nullable, schema: s } = typeOf(raw);
    const defaultValue = name in defaults ? defaults[name] : s.default;
    let kind: FieldKind = 'json';
    let options: unknown[] | undefined;
    if (s.enum) {
      kind = 'enum';
      options = s.enum;
    } else if (s.const !== undefined) {
      kind = 'enum';
      options = [s.const];
    } else if (type === 'integer' || type === 'number' || type === 'string' || type === 'boolean') kind = type;
    return {
      name,
      kind,
      label: s.title ?? name,
      description: s.description,
      required: required.has(name) && defaultValue === undefined,
      nullable,
      defaultValue,
      options,
      min: bound(s.minimum),
      max: bound(s.maximum),
      exclusiveMin: s.exclusiveMinimum,
      exclusiveMax: s.exclusiveMaximum,
      minLength: s.minLength,
      maxLength: s.maxLength,
      pattern: s.pattern,
    };
  });
}

/** A bound worth showing: zod's integers carry ±MAX_SAFE_INTEGER, which says nothing. */
function bound(x: number | undefined): number | undefined {
  return x === undefined || Math.abs(x) >= Number.MAX_SAFE_INTEGER ? undefined : x;
}

/** The form's starting values: the defaults. */
export function initialValues(fields: readonly ParamField[]): FormValues {
  const v: FormValues = {};
  for (const f of fields) {
    if (f.kind === 'boolean') v[f.name] = f.defaultValue === true;
    else if (f.kind === 'json') v[f.name] = f.defaultValue === undefined ? '' : JSON.stringify(f.defaultValue, null, 2);
    else if (f.kind === 'enum') v[f.name] = f.defaultValue === undefined ? '' : JSON.stringify(f.defaultValue);
    else v[f.name] = f.defaultValue === undefined || f.defaultValue === null ? '' : String(f.defaultValue);
  }
  return v;
}

/** One field's value, or its problem in plain words. Empty means "use the default" (undefined). */
export function parseField(f: ParamField, raw: string | boolean | undefined): { value?: unknown; error?: string } {
  if (f.kind === 'boolean') return { value: raw === true };
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') {
    if (f.required) return { error: 'is required' };
    return { value: undefined };
  }
  switch (f.kind) {
    case 'enum': {
      const value = JSON.parse(text) as unknown;
      return { value };
    }
    case 'integer':
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: `must be ${f.kind === 'integer' ? 'a whole number' : 'a number'}` };
      if (f.kind === 'integer' && !Number.isInteger(n)) return { error: 'must be a whole number' };
      if (f.min !== undefined && n < f.min) return { error: `must be at least ${f.min}` };
      if (f.max !== undefined && n > f.max) return { error: `must be at most ${f.max}` };
      if (f.exclusiveMin !== undefined && n <= f.exclusiveMin) return { error: `must be greater than ${f.exclusiveMin}` };
      if (f.exclusiveMax !== undefined && n >= f.exclusiveMax) return { error: `must be less than ${f.exclusiveMax}` };
      return { value: n };
    }
    case 'string': {
      const s = typeof raw === 'string' ? raw : '';
      if (f.minLength !== undefined && s.length < f.minLength) return { error: f.minLength === 1 ? 'must not be empty' : `must be at least ${f.minLength} characters` };
      if (f.maxLength !== undefined && s.length > f.maxLength) return { error: `must be at most ${f.maxLength} characters` };
      if (f.pattern !== undefined) {
        try {
          if (!new RegExp(f.pattern, 'u').test(s)) return { error: `must match ${f.pattern}` };
        } catch {
          /* a pattern this browser cannot compile: leave it to the server */
        }
      }
      return { value: s };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'must be valid JSON' };
      }
    default:
      return { value: text };
  }
}

/** The conf to send, or the field errors. */
export function buildConf(fields: readonly ParamField[], values: FormValues): { conf: Record<string, unknown>; errors: Record<string, string> } {
  const conf: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const r = parseField(f, values[f.name]);
    if (r.error) errors[f.name] = r.error;
    else if (r.value !== undefined) conf[f.name] = r.value;
  }
  return { conf, errors };
}

/** Where the form shows the run id's error (not a param name: those cannot start with `$`). */
export const RUN_ID_FIELD = '$run_id';

/** The server's 400 details → errors by field: `body.conf.epochs` → `epochs`, `body.run_id` → RUN_ID_FIELD, the rest under `_form`. */
export function serverFieldErrors(details: readonly { field: string; reason: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (key: string, text: string) => (out[key] = out[key] ? `${out[key]}; ${text}` : text);
  for (const d of details) {
    const m = /^body\.conf\.([^.]+)/.exec(d.field);
    if (m) add(m[1], d.reason);
    else if (d.field === 'body.run_id') add(RUN_ID_FIELD, d.reason);
    else add('_form', `${d.field} ${d.reason}`);
  }
  return out;
}

/** What the constraint hint under a field says. */
export function hint(f: ParamField): string {
  const parts: string[] = [];
  if (f.kind === 'integer') parts.push('whole number');
  if (f.min !== undefined && f.max !== undefined) parts.push(`${f.min}–${f.max}`);
  else if (f.min !== undefined) parts.push(`≥ ${f.min}`);
  else if (f.max !== undefined) parts.push(`≤ ${f.max}`);
  if (f.exclusiveMin !== undefined) parts.push(`> ${f.exclusiveMin}`);
  if (f.exclusiveMax !== undefined) parts.push(`< ${f.exclusiveMax}`);
  if (f.defaultValue !== undefined) parts.push(`default ${JSON.stringify(f.defaultValue)}`);
  return parts.join(' · ');
}
