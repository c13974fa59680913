/**
 * What can be checked of the Dockerfile without a Docker engine: the commands the image
 * runs exist in the CLI, the runtime user is not root, and every file it copies exists in
 * the repository (and is not excluded by .dockerignore) or is made by the build stage.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}
interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      line = `${line.slice(0, -1)} ${lines[i].trim()}`;
    }
    const m = line.trim().match(/^([A-Za-z]+)\s+(.*)$/);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`);
    const ins = { op: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 };
    if (ins.op === 'FROM') {
      const f = ins.args.match(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i)!;
      stages.push({ base: f[1], name: f[2] ?? String(stages.length), instructions: [] });
    } else if (ins.op !== 'ARG' || stages.length) {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** `COPY [--from=x] a b dest` or the JSON form. */
function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const flags = [...args.matchAll(/--(\w+)=(\S+)\s+/g)];
  const rest = args.replace(/^(--\w+=\S+\s+)+/, '');
  const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from: flags.find((f) => f[1] === 'from')?.[2], sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/** Whether .dockerignore excludes a path (its patterns: names, globs with ** and *). */
function ignored(rel: string, patterns: readonly string[]): boolean {
  let out = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const p = (neg ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(`^${p.split('/').map((seg) => (seg === '**' ? '(?:.*/)?' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '/')).join('').replace(/\/$/, '')}(?:/.*)?$`);
    if (re.test(rel)) out = !neg;
  }
  return out;
}

const root = process.cwd();
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const ignorePatterns = fs
  .readFileSync(path.join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const runtime = stages.at(-1)!;
const instr = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);

describe('the Dockerfile', () => {
  it('is multi-stage, on Node 20, with a slim runtime base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const arg = dockerfile.match(/^ARG NODE_IMAGE=(\S+)$/m)?.[1];
    const base = (b: string) => (b === '${NODE_IMAGE}' ? arg! : b);
    for (const s of stages) expect(base(s.base)).toMatch(/^node:20[.-]/);
    expect(base(runtime.base)).toMatch(/slim/);
    const build = stages[0];
    const runs = instr(build, 'RUN').map((r) => r.args).join('\n');
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm run --prefix web build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
  });

  it('runs as the non-root user trainyard (uid 10001)', () => {
    const users = instr(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0];
    expect(['root', '0']).not.toContain(user);
    expect(user).toBe('10001');
    const runs = instr(runtime, 'RUN').map((r) => r.args).join('\n');
    expect(runs).toMatch(/useradd --uid 10001 .*trainyard/);
    // Nothing after USER switches back to root.
    const lastUser = runtime.instructions.lastIndexOf(users.at(-1)!);
    expect(runtime.instructions.slice(lastUser + 1).filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('copies only files that exist in the context (and are not ignored) or that the build stage makes', () => {
    for (const s of stages) {
      const workdir = instr(s, 'WORKDIR').at(0)?.args ?? '/';
      for (const c of instr(s, 'COPY')) {
        const { from, sources } = copyArgs(c.args);
        for (const src of sources) {
          if (from === undefined) {
            expect(fs.existsSync(path.join(root, src)), `COPY ${src} (line ${c.line}) is not in the repository`).toBe(true);
            expect(ignored(src.replace(/\/$/, ''), ignorePatterns), `COPY ${src} (line ${c.line}) is excluded by .dockerignore`).toBe(false);
            continue;
          }
          const stage = stages.find((x) => x.name === from);
          expect(stage, `COPY --from=${from}: no such stage`).toBeDefined();
          const stageDir = instr(stage!, 'WORKDIR').at(0)!.args;
          expect(src.startsWith(`${stageDir}/`), `${src} is outside the build stage's ${stageDir}`).toBe(true);
          const rel = src.slice(stageDir.length + 1);
          const copiedIn = instr(stage!, 'COPY').some((x) => {
            const a = copyArgs(x.args);
            return !a.from && a.sources.some((p) => p === rel || (a.dest !== './' && a.dest.replace(/\/$/, '') === rel));
          });
          const runs = instr(stage!, 'RUN').map((r) => r.args).join('\n');
          const made =
            (rel === 'node_modules' && /npm ci/.test(runs)) ||
            (rel === 'dist' && /npm run build/.test(runs) && JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')).compilerOptions.outDir === 'dist');
          expect(copiedIn || made, `COPY --from=${from} ${src} (line ${c.line}) is neither copied into nor built by stage ${from}`).toBe(true);
        }
        void workdir;
      }
    }
    // The runtime image holds dist, production node_modules, bin, python and docs, not sources or tests.
    const runtimeSources = instr(runtime, 'COPY').flatMap((c) => copyArgs(c.args).sources);
    for (const wanted of ['/src/dist', '/src/node_modules', 'bin', 'docs']) expect(runtimeSources).toContain(wanted);
    expect(runtimeSources.some((s) => s.startsWith('python/'))).toBe(true);
    for (const unwanted of ['src', 'test', 'web', '.']) expect(runtimeSources).not.toContain(unwanted);
  });

  it('has an entrypoint whose commands exist: scheduler, api-server, standalone, and the inline-task worker', () => {
    const entry = JSON.parse(instr(runtime, 'ENTRYPOINT').at(-1)!.args) as string[];
    expect(entry).toEqual(['trainyard']);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(fs.existsSync(path.join(root, pkg.bin.trainyard))).toBe(true);
    expect(instr(runtime, 'RUN').map((r) => r.args).join('\n')).toContain(`ln -s /opt/trainyard/${pkg.bin.trainyard} /usr/local/bin/trainyard`);
    const cmd = JSON.parse(instr(runtime, 'CMD').at(-1)!.args) as string[];

    const help = spawnSync(process.execPath, [pkg.bin.trainyard, '--help'], { encoding: 'utf8', cwd: root });
    expect(help.status, help.stderr).toBe(0);
    const commands = new Set([...help.stdout.matchAll(/^\s{2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]));
    for (const c of ['scheduler', 'api-server', 'standalone', cmd[0]]) expect(commands, `trainyard ${c}`).toContain(c);
    for (const c of ['scheduler', 'api-server']) {
      const r = spawnSync(process.execPath, [pkg.bin.trainyard, c, '--help'], { encoding: 'utf8', cwd: root });
      expect(r.status, `trainyard ${c} --help: ${r.stderr}`).toBe(0);
    }
    // Inline tasks run in worker processes forked from dist/executors/worker/worker-main.js.
    expect(fs.readFileSync(path.join(root, 'src/executors/worker/pool.ts'), 'utf8')).toContain("'./worker-main.js'");
    expect(fs.existsSync(path.join(root, 'src/executors/worker/worker-main.ts'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'dist/executors/worker/worker-main.js'))).toBe(true);
  });

  it('keeps dependencies and build outputs out of the build context', () => {
    for (const p of ['node_modules', 'web/node_modules', 'dist', '.git', '.trainyard', 'test-artifacts']) expect(ignored(p, ignorePatterns), p).toBe(true);
    for (const p of ['src/index.ts', 'package-lock.json', 'web/package.json', 'python/trainyard_runtime.py']) expect(ignored(p, ignorePatterns), p).toBe(false);
  });
});
