import { Ajv2020 } from 'ajv/dist/2020.js';
import type { DagSpec } from '../core/spec.js';
import type { ErrorDetail } from './errors.js';

const ajv = new Ajv2020({ allErrors: true, strict: false });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/**
 * Field-by-field problems of a trigger's conf against the DAG's params schema, as API error
 * details (`body.conf.<field>`). Only called after validateConf rejected the conf, to say
 * precisely which fields are wrong.
 */
export function confProblems(spec: DagSpec, conf: Record<string, unknown>): ErrorDetail[] {
  if (!spec.paramsSchema) return [];
  const key = JSON.stringify(spec.paramsSchema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(spec.paramsSchema as object);
    compiled.set(key, validate);
  }
  if (validate({ ...spec.paramsDefaults, ...conf })) return [];
  return (validate.errors ?? []).map((e) => {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const params = e.params as { missingProperty?: string; additionalProperty?: string };
    if (e.keyword === 'required' && params.missingProperty) return { field: ['body', 'conf', ...path, params.missingProperty].join('.'), reason: 'is required' };
    if (e.keyword === 'additionalProperties' && params.additionalProperty) {
      return { field: ['body', 'conf', ...path, params.additionalProperty].join('.'), reason: 'is not a param of this DAG' };
    }
    return { field: ['body', 'conf', ...path].join('.'), reason: e.message ?? 'is invalid' };
  });
}
