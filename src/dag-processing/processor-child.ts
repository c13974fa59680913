/**
 * The DAG-file processor's child process: imports DAG files (TypeScript compiled on the fly)
 * and sends back their specs. User code runs here, never in the scheduler's process. The
 * process runs with tsx's loader registered, so TypeScript files load with source maps,
 * whether they are ES modules or CommonJS.
 */

const requireCache = createRequire(import.meta.url).cache;

/** Imports a file afresh: a query string makes a new ES module; CommonJS needs its cache entry gone. */
async function importFresh(file: string): Promise<Record<string, unknown>> {
  delete requireCache[file];
  const version = fs.statSync(file).mtimeMs;
  return (await import(`${pathToFileURL(file).href}?v=${version}`)) as Record<string, unknown>;
}
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { findDags } from '../sdk/user-code.js';
import type { ParseReply, ParseRequest } from './protocol.js';

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    const frame = e.stack?.split('\n').find((l) => /\.(m?[jt]s):\d+/.test(l) && !l.includes('node_modules'));
    return `${code ? `[${code}] ` : ''}${e.message}${frame && !e.message.includes(frame.trim()) ? `\n  ${frame.trim()}` : ''}`;
  }
  return String(e);
}

async function parse(req: ParseRequest): Promise<ParseReply> {
  const started = performance.now();
  const errors: string[] = [];
  const dags: { dagId: string; spec: ParseReply['dags'][number]['spec'] }[] = [];
  try {
    const mod = await importFresh(req.file);
    const found = findDags(mod);
    if (found.length === 0) errors.push('the file exports no DAG; export the value returned by dag(...)');
    for (const d of found) {
      try {
        dags.push({ dagId: d.dagId, spec: d.toSpec() });
      } catch (e) {
        errors.push(`DAG '${d.dagId}': ${describeError(e)}`);
      }
    }
  } catch (e) {
    errors.push(describeError(e));
  }
  return { type: 'parsed', id: req.id, file: req.file, dags, errors, durationMs: performance.now() - started };
}

// Load the SDK before the first request, so a file's import time is its own.
void import('../index.js').finally(() => process.send?.({ type: 'ready' }));

process.on('message', (msg: ParseRequest) => {
  if (msg?.type !== 'parse') return;
  void parse(msg).then((reply) => process.send?.(reply));
});
// A DAG file's stray promise rejection must not kill the processor.
process.on('unhandledRejection', () => {});
// If the scheduler process dies, so does its DAG processor.
process.on('disconnect', () => process.exit(0));
