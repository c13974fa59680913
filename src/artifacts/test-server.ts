/**
 * The real S3-compatible server for tests: starts it with scripts/s3/up.sh (once per test
 * process; a running one is reused) and reads the endpoint and credentials it prints. The
 * first start on a machine builds the server with Go (minutes); later starts take under a
 * second. No server, no silent skip: a failure to start throws with the script's output.
 *
 * For tests only; the barrel does not export it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const UP_SCRIPT = fileURLToPath(new URL('../../scripts/s3/up.sh', import.meta.url));

export interface S3TestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A bucket that exists. */
  readonly bucket: string;
}

/** How long the first start may take: it may build the server. */
export const S3_SERVER_START_TIMEOUT_MS = 30 * 60_000;

let started: Promise<S3TestServer> | undefined;

/** Parses the `export NAME='value'` lines that up.sh prints. */
export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  return out;
}

export function s3TestServer(): Promise<S3TestServer> {
  started ??= new Promise((resolve, reject) => {
    const args = [UP_SCRIPT];
    if (process.env.TRAINYARD_S3_STATE_DIR) args.push(process.env.TRAINYARD_S3_STATE_DIR);
    execFile('bash', args, { timeout: S3_SERVER_START_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const env = parseEnvLines(stdout);
      if (err || !env.TRAINYARD_S3_ENDPOINT || !env.AWS_SECRET_ACCESS_KEY || !env.TRAINYARD_S3_BUCKET) {
        reject(
          new Error(
            `could not start the S3 test server with scripts/s3/up.sh (${err ? err.message.split('\n')[0] : 'it printed no endpoint'}).\n` +
              `Its output:\n${stderr.trim().split('\n').slice(-20).join('\n')}\n` +
              'The S3 tests need Go (1.25 or later) to build the server once, or TRAINYARD_S3_SERVER_BIN pointing at a versitygw binary.',
          ),
        );
        return;
      }
      resolve({
        endpoint: env.TRAINYARD_S3_ENDPOINT,
        region: env.AWS_REGION || 'us-east-1',
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        bucket: env.TRAINYARD_S3_BUCKET,
      });
    });
  });
  return started;
}

const S3_ENV = ['TRAINYARD_S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;

/**
 * Gives this process the server's credentials and region (and, with `endpoint`, its address
 * as TRAINYARD_S3_ENDPOINT), the way a user's environment would. Returns what puts the
 * earlier values back.
 */
export function useS3Env(server: S3TestServer, { endpoint = false }: { endpoint?: boolean } = {}): () => void {
  const saved = Object.fromEntries(S3_ENV.map((k) => [k, process.env[k]]));
  if (endpoint) process.env.TRAINYARD_S3_ENDPOINT = server.endpoint;
  process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
  process.env.AWS_REGION = server.region;
  return () => {
    for (const k of S3_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}
