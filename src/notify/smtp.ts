/**
 * A small SMTP client over net/tls (RFC 5321): EHLO (HELO fallback), STARTTLS, AUTH PLAIN or
 * LOGIN, MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT. Enough to hand a notification to a
 * relay or a submission server; no pipelining, no DSN. Errors never contain the password.
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { NotifyError } from './types.js';

export interface SmtpOptions {
  host: string;
  port: number;
  /**
   * Require an encrypted connection: implicit TLS when `implicitTls` (default: port 465), else
   * STARTTLS, which the server must offer. Default false: plain SMTP (a local relay).
   */
  secure?: boolean;
  implicitTls?: boolean;
  user?: string;
  password?: string;
  /** TLS settings: a private CA, or (tests only) rejectUnauthorized false. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** The name sent in EHLO; default the machine's host name. */
  clientName?: string;
  /** Deadline of each reply from the server; default 30 s. */
  commandTimeoutMs?: number;
  /** Allow AUTH over an unencrypted connection (never do this across a network). Default false. */
  allowInsecureAuth?: boolean;
  /** Force one AUTH mechanism; default PLAIN when offered, else LOGIN. */
  authMethod?: 'PLAIN' | 'LOGIN';
}

export interface SmtpEnvelope {
  from: string;
  to: readonly string[];
}

interface Reply {
  code: number;
  lines: string[];
}

/** Sends one message (headers and body, any line endings) and returns the server's final reply. */
export async function sendSmtp(opts: SmtpOptions, envelope: SmtpEnvelope, message: string, signal?: AbortSignal): Promise<string> {
  const conn = new SmtpConnection(opts, signal);
  try {
    await conn.open();
    return await conn.deliver(envelope, message);
  } finally {
    conn.close();
  }
}

class SmtpConnection {
  private socket?: net.Socket;
  private buffer = '';
  private replies: Reply[] = [];
  private pending: string[] = [];
  private waiter?: { resolve: (r: Reply) => void; reject: (e: Error) => void };
  private failure?: Error;
  private extensions = new Map<string, string>();
  private encrypted = false;
  private readonly where: string;
  private readonly onAbort = () => this.fail(new NotifyError(`SMTP to ${this.where} was aborted (timeout)`));
  /** Rejects with the first failure; raced against waits that are not replies (connect, TLS). */
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: Error) => void;

  constructor(
    private readonly opts: SmtpOptions,
    private readonly signal?: AbortSignal,
  ) {
    this.where = `${opts.host}:${opts.port}`;
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
  }

  async open(): Promise<void> {
    this.signal?.throwIfAborted();
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    const implicit = this.opts.secure === true && (this.opts.implicitTls ?? this.opts.port === 465);
    const socket = implicit
      ? tls.connect({ host: this.opts.host, port: this.opts.port, ...this.tlsOptions() })
      : net.connect({ host: this.opts.host, port: this.opts.port });
    this.attach(socket);
    const connected = new Promise<void>((resolve, reject) => {
      const ok = () => {
        cleanup();
        resolve();
      };
      const bad = (e: Error) => {
        cleanup();
        reject(this.describeSocketError(e));
      };
      const cleanup = () => {
        socket.off(implicit ? 'secureConnect' : 'connect', ok);
        socket.off('error', bad);
      };
      socket.once(implicit ? 'secureConnect' : 'connect', ok);
      socket.once('error', bad);
    });
    await Promise.race([connected, this.failed]);
    this.encrypted = implicit;
    await this.expect(await this.read(), [220], 'greeting');
    await this.hello();
    if (this.opts.secure && !this.encrypted) await this.startTls();
    if (this.opts.user !== undefined) await this.authenticate();
  }

  async deliver(envelope: SmtpEnvelope, message: string): Promise<string> {
    if (envelope.to.length === 0) throw new NotifyError('SMTP: no recipients; give at least one address in `to`.');
    const body = /[^\x00-\x7f]/.test(message) && this.extensions.has('SMTPUTF8') ? ' SMTPUTF8' : '';
    const eight = /[^\x00-\x7f]/.test(message) && this.extensions.has('8BITMIME') ? ' BODY=8BITMIME' : '';
    await this.command(`MAIL FROM:<${envelope.from}>${eight}${body}`, [250], 'MAIL FROM');
    for (const rcpt of envelope.to) await this.command(`RCPT TO:<${rcpt}>`, [250, 251], `RCPT TO <${rcpt}>`);
    await this.command('DATA', [354], 'DATA');
    this.write(`${dotStuff(message)}.\r\n`);
    const done = await this.read();
    await this.expect(done, [250], 'the message');
    try {
      this.write('QUIT\r\n');
      await this.read();
    } catch {
      // The message is accepted; a rude goodbye does not matter.
    }
    return done.lines.join(' ');
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
    this.socket = undefined;
  }

  // ---- steps -------------------------------------------------------------------------------

  private async hello(): Promise<void> {
    const name = clientName(this.opts.clientName);
    this.write(`EHLO ${name}\r\n`);
    let r = await this.read();
    if (r.code !== 250) {
      this.write(`HELO ${name}\r\n`);
      r = await this.read();
      await this.expect(r, [250], 'HELO');
      this.extensions.clear();
      return;
    }
    this.extensions.clear();
    for (const line of r.lines.slice(1)) {
      const [kw, ...rest] = line.trim().split(/\s+/);
      if (kw) this.extensions.set(kw.toUpperCase(), rest.join(' '));
    }
  }

  private async startTls(): Promise<void> {
    if (!this.extensions.has('STARTTLS')) {
      throw new NotifyError(
        `SMTP server ${this.where} does not offer STARTTLS, and secure is set: use its TLS port (465, with implicitTls), or set secure false for a trusted local relay.`,
      );
    }
    await this.command('STARTTLS', [220], 'STARTTLS');
    const plain = this.socket!;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    const secured = tls.connect({ socket: plain, ...this.tlsOptions() });
    this.attach(secured);
    await Promise.race([new Promise<void>((resolve) => secured.once('secureConnect', resolve)), this.failed]);
    this.encrypted = true;
    await this.hello();
  }

  private async authenticate(): Promise<void> {
    const user = this.opts.user ?? '';
    const password = this.opts.password ?? '';
    if (!this.encrypted && !this.opts.allowInsecureAuth) {
      throw new NotifyError(`SMTP: refusing to send the password for '${user}' to ${this.where} unencrypted: set secure true (STARTTLS or TLS).`);
    }
    const offered = (this.extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/);
    const mechanisms = this.opts.authMethod ? offered.filter((m) => m === this.opts.authMethod) : offered;
    if (mechanisms.includes('PLAIN')) {
      const token = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
      const r = await this.commandRaw(`AUTH PLAIN ${token}`);
      if (r.code === 334) {
        // Some servers want the credentials on their own line.
        return this.authResult(await this.commandRaw(token), user);
      }
      return this.authResult(r, user);
    }
    if (mechanisms.includes('LOGIN')) {
      await this.expect(await this.commandRaw('AUTH LOGIN'), [334], 'AUTH LOGIN');
      await this.expect(await this.commandRaw(Buffer.from(user, 'utf8').toString('base64')), [334], 'AUTH LOGIN user');
      return this.authResult(await this.commandRaw(Buffer.from(password, 'utf8').toString('base64')), user);
    }
    throw new NotifyError(
      `SMTP server ${this.where} offers no AUTH PLAIN or LOGIN${this.extensions.has('AUTH') ? ` (it offers ${this.extensions.get('AUTH')})` : ''}; ` +
        (this.encrypted ? 'leave user unset if the server accepts mail without login.' : 'many servers offer AUTH only after STARTTLS: set secure true.'),
    );
  }

  private authResult(r: Reply, user: string): void {
    if (r.code === 235) return;
    throw new NotifyError(`SMTP authentication as '${user}' at ${this.where} failed: ${r.code} ${r.lines.join(' ')}. Check user and password.`, r.code);
  }

  // ---- protocol ----------------------------------------------------------------------------

  private async command(line: string, ok: number[], what: string): Promise<Reply> {
    const r = await this.commandRaw(line);
    await this.expect(r, ok, what);
    return r;
  }

  private commandRaw(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  private async expect(r: Reply, ok: number[], what: string): Promise<void> {
    if (ok.includes(r.code)) return;
    throw new NotifyError(`SMTP server ${this.where} refused ${what}: ${r.code} ${r.lines.join(' ')}`, r.code);
  }

  private write(data: string): void {
    if (this.failure) throw this.failure;
    this.socket!.write(data, 'utf8');
  }

  private read(): Promise<Reply> {
    if (this.replies.length) return Promise.resolve(this.replies.shift()!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      const ms = this.opts.commandTimeoutMs ?? 30_000;
      const timer = setTimeout(() => this.fail(new NotifyError(`SMTP server ${this.where} did not answer within ${ms} ms`)), ms);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.fail(this.describeSocketError(e)));
    socket.on('close', () => this.fail(new NotifyError(`SMTP server ${this.where} closed the connection`)));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const m = /^(\d{3})([- ]?)(.*)$/.exec(line);
      if (!m) {
        this.fail(new NotifyError(`SMTP server ${this.where} sent a line that is not SMTP: ${JSON.stringify(line.slice(0, 80))}`));
        return;
      }
      this.pending.push(m[3]);
      if (m[2] === '-') continue;
      const reply = { code: Number(m[1]), lines: this.pending };
      this.pending = [];
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(reply);
      } else this.replies.push(reply);
    }
    if (this.buffer.length > 64 * 1024) this.fail(new NotifyError(`SMTP server ${this.where} sent a line longer than 64 KiB`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.rejectFailed(this.failure);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
    this.socket?.destroy();
  }

  private describeSocketError(e: Error): NotifyError {
    const code = (e as NodeJS.ErrnoException).code;
    return new NotifyError(`SMTP connection to ${this.where} failed: ${code ?? e.message}${code && !/^E[A-Z]+$/.test(code) ? ` (${e.message})` : ''}`);
  }

  private tlsOptions(): tls.ConnectionOptions {
    const t = this.opts.tls ?? {};
    return {
      host: this.opts.host,
      servername: t.servername ?? (net.isIP(this.opts.host) ? undefined : this.opts.host),
      ...(t.ca !== undefined ? { ca: t.ca } : {}),
      ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
    };
  }
}

/** CRLF line endings, a leading "." doubled on every line, and a final CRLF (RFC 5321 §4.5.2). */
export function dotStuff(message: string): string {
  const lines = message.replace(/\r\n|\r|\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + '\r\n';
}

function clientName(name?: string): string {
  const n = (name ?? os.hostname()).replace(/[^A-Za-z0-9.-]/g, '');
  return n || 'localhost';
}
