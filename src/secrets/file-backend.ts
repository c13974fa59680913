import fs from 'node:fs';
import { TrainyardError } from '../core/errors.js';
import type { SecretBackend } from './types.js';

export const SECRETS_FILE_ENV = 'TRAINYARD_SECRETS_FILE';

/**
 * Parses `.env`-style text: `NAME=value` per line, `#` comments, optional `export `, values
 * in single quotes (literal) or double quotes (`\n`, `\"`, `\\` escapes). Errors name the line.
 */
export function parseDotEnv(text: string, source = 'secrets file'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-/]*)\s*=\s*(.*)$/);
    if (!m) throw new TrainyardError('SECRETS_FILE_INVALID', `${source} line ${i + 1}: expected NAME=value`);
    let value = m[2];
    if (value.startsWith("'")) {
      if (!value.endsWith("'") || value.length < 2) throw new TrainyardError('SECRETS_FILE_INVALID', `${source} line ${i + 1}: unterminated single quote`);
      value = value.slice(1, -1);
    } else if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) throw new TrainyardError('SECRETS_FILE_INVALID', `${source} line ${i + 1}: unterminated double quote`);
      value = value.slice(1, -1).replace(/\\([n"\\])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]] = value;
  });
  return out;
}

/** A JSON object: string values, or one level of nesting (`{"wandb": {"api-key": "…"}}` is `wandb/api-key`). */
function parseJson(text: string, source: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TrainyardError('SECRETS_FILE_INVALID', `${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TrainyardError('SECRETS_FILE_INVALID', `${source} must hold a JSON object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) {
        if (typeof v2 !== 'string') throw new TrainyardError('SECRETS_FILE_INVALID', `${source}: "${k}.${k2}" must be a string`);
        out[`${k}/${k2}`] = v2;
      }
    } else throw new TrainyardError('SECRETS_FILE_INVALID', `${source}: "${k}" must be a string or an object of strings`);
  }
  return out;
}

/**
 * Secrets from one file: JSON (`.json`, or text starting with `{`) or `.env` style. The file
 * is read again when its modification time changes, so a rotated secret (a Kubernetes Secret
 * mounted as a file) is picked up without a restart. Names match exactly, or by the env-style
 * spelling (`wandb/api-key` also finds `WANDB_API_KEY`).
 */
export class FileSecretBackend implements SecretBackend {
  readonly description: string;
  private cache: { mtimeMs: number; values: Record<string, string> } | undefined;

  constructor(private readonly path: string) {
    this.description = `file ${path}`;
  }

  private load(): Record<string, string> {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch (e) {
      throw new TrainyardError('SECRETS_FILE_MISSING', `the secrets file ${this.path} cannot be read (${(e as NodeJS.ErrnoException).code}); check ${SECRETS_FILE_ENV}`);
    }
    if (this.cache && this.cache.mtimeMs === st.mtimeMs) return this.cache.values;
    const text = fs.readFileSync(this.path, 'utf8');
    const values = this.path.endsWith('.json') || text.trimStart().startsWith('{') ? parseJson(text, this.path) : parseDotEnv(text, this.path);
    this.cache = { mtimeMs: st.mtimeMs, values };
    return values;
  }

  async get(name: string): Promise<string | undefined> {
    const values = this.load();
    if (Object.hasOwn(values, name)) return values[name];
    const envish = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
    return Object.hasOwn(values, envish) ? values[envish] : undefined;
  }

  values(): string[] {
    return Object.values(this.load());
  }
}
