/**
 * Secret masking: every value registered here is replaced by `***` wherever text leaves the
 * process (task logs, API responses, CLI output, error messages, server logs).
 *
 * - Values shorter than {@link MIN_SECRET_LENGTH} (4) characters are never masked: masking
 *   "1" or "ab" would shred ordinary text and tell an attacker the value anyway.
 * - Each value is also registered in its JSON-escaped and percent-encoded forms (when those
 *   differ), so a password inside a JSON log line or a database URL is masked too, and each
 *   line of a multi-line value (a PEM key printed line by line) is masked on its own.
 * - All values are matched by one regular expression (longest first), rebuilt only when the
 *   set changes, so `mask` is one pass over the text whatever the number of secrets.
 */

export const MASK = '***';
/** Values shorter than this are not masked. */
export const MIN_SECRET_LENGTH = 4;

/**
 * Whether an environment variable (or variable key) name looks like it holds a secret:
 * a name ending in `KEY`, `TOKEN`, `PASSWORD`, `PASSWD`, `PASSPHRASE`, `SECRET`,
 * `CREDENTIAL(S)` or `AUTH` as a whole word (`WANDB_API_KEY`, `HF_TOKEN`, `DB_PASSWORD`,
 * `secretKey`, `client-secret`).
 *
 * Not sensitive: `*_KEY_ID` (`AWS_ACCESS_KEY_ID`): it names the credentials, is shown in
 * error messages to tell which ones were used, and the secret half (`AWS_SECRET_ACCESS_KEY`)
 * is masked by its own name.
 */
export function isSensitiveName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
  const last = words.at(-1);
  if (!last) return false;
  return SENSITIVE_LAST_WORDS.has(last);
}

const SENSITIVE_LAST_WORDS: ReadonlySet<string> = new Set([
  'KEY',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
  'PASSPHRASE',
  'SECRET',
  'CREDENTIAL',
  'CREDENTIALS',
  'AUTH',
]);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/-]/g, '\\$&');
}

/** Holds the values to mask; one per process is enough (see `defaultMasker`). */
export class SecretMasker {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;
  private dirty = false;
  private longest = 0;
  private multiline = false;

  constructor(values: Iterable<string> = []) {
    for (const v of values) this.add(v);
  }

  /** Registers a value (and its encoded forms). Values shorter than 4 characters are ignored. */
  add(value: string | undefined | null): this {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return this;
    const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
    if (value.includes('\n')) {
      for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_SECRET_LENGTH) forms.add(line);
    }
    for (const f of forms) {
      if (f.length < MIN_SECRET_LENGTH || this.values.has(f)) continue;
      this.values.add(f);
      this.dirty = true;
    }
    return this;
  }

  /** Registers the values of every variable whose name looks sensitive (see `isSensitiveName`). */
  addEnv(env: Readonly<Record<string, string | undefined>>): this {
    for (const [name, value] of Object.entries(env)) if (isSensitiveName(name)) this.add(value);
    return this;
  }

  get size(): number {
    return this.values.size;
  }

  /** Length of the longest registered form: how much text a stream must hold back. */
  get longestLength(): number {
    this.compile();
    return this.longest;
  }

  /** Whether any registered form contains a line break. */
  get hasMultiline(): boolean {
    this.compile();
    return this.multiline;
  }

  /** The combined pattern (global), or undefined when nothing is registered. */
  regex(): RegExp | undefined {
    this.compile();
    return this.pattern;
  }

  private compile(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const sorted = [...this.values].sort((a, b) => b.length - a.length);
    this.longest = sorted[0]?.length ?? 0;
    this.multiline = sorted.some((v) => v.includes('\n'));
    this.pattern = sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** The text with every registered value replaced by `***`. */
  mask(text: string): string {
    const re = this.regex();
    if (!re || text.length < MIN_SECRET_LENGTH) return text;
    re.lastIndex = 0;
    return text.replace(re, MASK);
  }

  /** A copy of a JSON-like value with every string (keys included) masked. */
  maskDeep<T>(value: T): T {
    if (this.size === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.mask(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.mask(k), walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }

  /** An error's message and stack, masked, as a new Error of the same shape (code kept). */
  maskError<E extends Error>(e: E): E {
    if (this.size === 0) return e;
    const message = this.mask(e.message);
    const stack = e.stack === undefined ? undefined : this.mask(e.stack);
    if (message === e.message && stack === e.stack) return e;
    const copy = Object.create(Object.getPrototypeOf(e)) as E;
    Object.assign(copy, e);
    Object.defineProperty(copy, 'message', { value: message, writable: true, configurable: true });
    if (stack !== undefined) Object.defineProperty(copy, 'stack', { value: stack, writable: true, configurable: true });
    return copy;
  }

  /** A masker for a stream of chunks (see `StreamMasker`). */
  stream(): StreamMasker {
    return new StreamMasker(this);
  }
}

/**
 * Masks a stream of text chunks in which a secret may be split across chunks. It holds back
 * the end of each chunk that could be the start of a secret (at most the longest secret's
 * length minus one character) and releases it with the next chunk or `end()`. When no secret
 * contains a line break, text up to the last line break is released at once, so line-by-line
 * logs are not delayed.
 */
export class StreamMasker {
  private carry = '';

  constructor(private readonly masker: SecretMasker) {}

  /** Masked text that is safe to emit now. */
  write(chunk: string): string {
    const text = this.carry + chunk;
    this.carry = '';
    const re = this.masker.regex();
    if (!re) return text;
    const hold = Math.max(0, this.masker.longestLength - 1);
    let safeEnd = Math.max(0, text.length - hold);
    if (!this.masker.hasMultiline) {
      const nl = text.lastIndexOf('\n');
      if (nl + 1 > safeEnd) safeEnd = nl + 1;
    }
    let out = '';
    let pos = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index >= safeEnd) break;
      out += text.slice(pos, m.index) + MASK;
      pos = m.index + m[0].length;
    }
    const emitTo = Math.max(pos, safeEnd);
    out += text.slice(pos, emitTo);
    this.carry = text.slice(emitTo);
    return out;
  }

  /** The rest, masked. */
  end(): string {
    const rest = this.masker.mask(this.carry);
    this.carry = '';
    return rest;
  }
}

/** The process-wide masker: secret backends, connections and sensitive variables add to it. */
export const defaultMasker = new SecretMasker();
