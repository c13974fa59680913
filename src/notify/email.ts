import crypto from 'node:crypto';
import { formatNotification } from './format.js';
import { sendSmtp, type SmtpOptions } from './smtp.js';
import type { Notification, Notifier } from './types.js';

export interface EmailNotifierOptions extends SmtpOptions {
  /** The sender address, e.g. "trainyard@example.com" or "Trainyard <trainyard@example.com>". */
  from: string;
  /** One or more recipient addresses. */
  to: string | readonly string[];
}

export interface EmailMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly headers?: Record<string, string>;
  /** Default now. */
  readonly date?: Date;
  readonly messageId?: string;
}

/** Sends each notification as a plain-text email through SMTP. */
export function emailNotifier(opts: EmailNotifierOptions): Notifier {
  const from = mailbox(opts?.from, 'from');
  const to = (typeof opts.to === 'string' ? opts.to.split(',') : [...(opts.to ?? [])]).map((a) => mailbox(a.trim(), 'to'));
  if (to.length === 0) throw new TypeError('emailNotifier: `to` needs at least one address.');
  if (!opts.host || !Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
    throw new TypeError(`emailNotifier: give host and a port from 1 to 65535 (got ${JSON.stringify(opts.host)}:${JSON.stringify(opts.port)}).`);
  }
  return {
    name: 'email',
    target: `smtp://${opts.host}:${opts.port} to ${to.map((t) => t.address).join(', ')}`,
    secrets: opts.password ? [opts.password, Buffer.from(opts.password).toString('base64')] : [],
    async send(n, { signal }) {
      const { subject, text } = formatNotification(n);
      const raw = buildMessage({
        from: from.header,
        to: to.map((t) => t.header),
        subject,
        text,
        headers: notificationHeaders(n),
      });
      await sendSmtp(opts, { from: from.address, to: to.map((t) => t.address) }, raw, signal);
    },
  };
}

function notificationHeaders(n: Notification): Record<string, string> {
  return {
    'X-Trainyard-Kind': n.kind,
    'X-Trainyard-Dag-Id': n.dagId,
    'X-Trainyard-Run-Id': n.runId,
    ...(n.taskId ? { 'X-Trainyard-Task-Id': n.taskId } : {}),
  };
}

interface Mailbox {
  /** The bare address, for the envelope. */
  address: string;
  /** As written, for the header. */
  header: string;
}

const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/;

function mailbox(value: unknown, field: string): Mailbox {
  const text = typeof value === 'string' ? value.trim() : '';
  const angle = /^(.*)<([^<>]+)>$/.exec(text);
  const address = angle ? angle[2].trim() : text;
  if (!ADDRESS.test(address) || /[\r\n]/.test(text)) {
    throw new TypeError(`emailNotifier: ${field} ${JSON.stringify(value)} is not an email address such as "ops@example.com" or "Ops <ops@example.com>".`);
  }
  const name = angle ? angle[1].trim().replace(/^"|"$/g, '') : '';
  return { address, header: name ? `${encodeWord(name, true)} <${address}>` : address };
}

/** An RFC 5322 message: headers, then a plain-text UTF-8 body (7bit when it can be, else quoted-printable). */
export function buildMessage(m: EmailMessage): string {
  const body = m.text.replace(/\r\n|\r/g, '\n');
  const sevenBit = /^[\x00-\x7f]*$/.test(body) && body.split('\n').every((l) => l.length <= 998);
  const headers: [string, string][] = [
    ['From', m.from],
    ['To', m.to.join(', ')],
    ['Subject', encodeWord(m.subject)],
    ['Date', rfc5322Date(m.date ?? new Date())],
    ['Message-ID', m.messageId ?? `<${crypto.randomUUID()}@trainyard>`],
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Transfer-Encoding', sevenBit ? '7bit' : 'quoted-printable'],
    ...Object.entries(m.headers ?? {}).map(([k, v]): [string, string] => [k, encodeWord(v)]),
  ];
  const head = headers.map(([k, v]) => `${k}: ${v.replace(/[\r\n]+/g, ' ')}`).join('\r\n');
  const encoded = sevenBit ? body : quotedPrintable(body);
  return `${head}\r\n\r\n${encoded.replace(/\n/g, '\r\n')}${encoded.endsWith('\n') ? '' : '\r\n'}`;
}

/** RFC 2047 encoded-word for non-ASCII header text; ASCII passes through. */
export function encodeWord(s: string, phrase = false): string {
  if (/^[\x20-\x7e]*$/.test(s)) return phrase && /[()<>@,;:\\".[\]]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
  // Encoded words are at most 75 characters: split the text into chunks of whole characters.
  const words: string[] = [];
  let chunk = '';
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}

/** Quoted-printable (RFC 2045) of UTF-8 text with "\n" line ends; lines stay within 76 characters. */
export function quotedPrintable(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      let out = '';
      let width = 0;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i];
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        const piece = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
        if (width + piece.length > 75) {
          out += '=\n';
          width = 0;
        }
        out += piece;
        width += piece.length;
      }
      return out;
    })
    .join('\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
