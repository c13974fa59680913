/**
 * The real SMTP server for tests: aiosmtpd, started with scripts/smtp/up.sh in a fresh state
 * directory (its own port and mailbox), stopped with down.sh. The first start on a machine
 * installs aiosmtpd from PyPI into a cached virtual environment (seconds); later starts take
 * about a second. No server, no silent skip: a failure to start throws with the script's output.
 *
 * For tests only; the barrel does not export it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPTS = fileURLToPath(new URL('../../scripts/smtp/', import.meta.url));

export interface SmtpTestServer {
  readonly host: string;
  readonly port: number;
  /** Where each accepted message lands as NNNNNN.eml, with NNNNNN.json (its envelope). */
  readonly mailDir: string;
  /** PEM of the server's self-signed certificate (STARTTLS); empty when openssl was missing. */
  readonly ca: string;
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

export interface ReceivedMessage {
  readonly envelope: { mailFrom: string; rcptTos: string[]; tls: boolean; authenticated: boolean; login: string | null };
  /** The DATA as received, CRLF line ends, dot-unstuffed. */
  readonly raw: string;
  /** Header names lower-cased; folded lines joined. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

function run(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [path.join(SCRIPTS, script), ...args], { timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/smtp/${script} failed: ${err.message.split('\n')[0]}\n${stderr.trim().split('\n').slice(-20).join('\n')}`));
      else resolve(stdout);
    });
  });
}

export async function startSmtpTestServer(): Promise<SmtpTestServer> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-smtp-'));
  const out = await run('up.sh', [state]);
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  if (!env.TRAINYARD_SMTP_PORT) throw new Error(`scripts/smtp/up.sh printed no port:\n${out}`);
  return {
    host: env.TRAINYARD_SMTP_HOST,
    port: Number(env.TRAINYARD_SMTP_PORT),
    mailDir: env.TRAINYARD_SMTP_MAIL_DIR,
    ca: env.TRAINYARD_SMTP_CA ? fs.readFileSync(env.TRAINYARD_SMTP_CA, 'utf8') : '',
    user: env.TRAINYARD_SMTP_USER,
    password: env.TRAINYARD_SMTP_PASSWORD,
    stop: async () => {
      await run('down.sh', [state, '--purge']);
    },
  };
}

/** Every message the server has accepted, oldest first. */
export function receivedMessages(server: Pick<SmtpTestServer, 'mailDir'>): ReceivedMessage[] {
  const names = fs
    .readdirSync(server.mailDir)
    .filter((f) => /^\d+\.json$/.test(f))
    .sort();
  return names.map((name) => {
    const stem = name.slice(0, -5);
    const raw = fs.readFileSync(path.join(server.mailDir, `${stem}.eml`), 'utf8');
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    return { envelope: JSON.parse(fs.readFileSync(path.join(server.mailDir, name), 'utf8')), raw, headers, body: raw.slice(split + 4) };
  });
}
