/**
 * Every ```ts code block in README.md and docs/*.md type-checks against the current SDK.
 * `from 'trainyard'` is compiled against src/index.ts; relative imports (`./artifacts/index.js`)
 * against src/. Blocks fenced as ```ts nocheck are skipped: fragments only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

interface Block {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

const root = process.cwd();
const docFiles = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].sort();

/** The ```ts / ```typescript blocks of a Markdown file, with the line each starts on; `nocheck` ones left out. */
export function tsBlocks(file: string, text: string): { blocks: Block[]; skipped: number } {
  const blocks: Block[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*(ts|typescript|tsx)\b(.*)$/);
    if (!open) continue;
    const fence = open[2];
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence); i++) body.push(lines[i].slice(Math.min(open[1].length, lines[i].length - lines[i].trimStart().length)));
    if (/\bnocheck\b/.test(open[4])) skipped++;
    else blocks.push({ file, line: start, code: body.join('\n') });
  }
  return { blocks, skipped };
}

function rewriteImports(code: string): string {
  const sdk = path.join(root, 'src', 'index.js');
  return code.replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g, (all, kw: string, q: string, spec: string) => {
    if (spec === 'trainyard') return `${kw}${q}${sdk}${q}`;
    if (spec.startsWith('trainyard/')) return `${kw}${q}${path.join(root, 'src', spec.slice('trainyard/'.length), 'index.js')}${q}`;
    if (spec.startsWith('./') || spec.startsWith('../')) return `${kw}${q}${path.join(root, 'src', spec.replace(/^(\.\.?\/)+/, ''))}${q}`;
    return all;
  });
}

/** Type errors of each block, compiled together in one program (each block is its own module). */
function typeErrors(blocks: readonly Block[]): Map<Block, string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-doc-examples-'));
  const files = blocks.map((b, i) => {
    const f = path.join(dir, `block${i}.mts`);
    // `export {}` makes every block a module, so top-level names do not clash between blocks.
    fs.writeFileSync(f, `${rewriteImports(b.code)}\nexport {};\n`);
    return f;
  });
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: ['node'],
    noUnusedLocals: false,
  });
  const out = new Map<Block, string[]>(blocks.map((b) => [b, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const idx = d.file ? files.indexOf(d.file.fileName) : -1;
    if (idx < 0) continue;
    const b = blocks[idx];
    const pos = d.start !== undefined ? d.file!.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    out.get(b)!.push(`${b.file}:${b.line + pos.line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

describe('code examples in the docs', () => {
  it('finds the fences, and skips only those marked nocheck', () => {
    const { blocks, skipped } = tsBlocks('x.md', 'a\n```ts\nconst a = 1;\n```\n```ts nocheck\nfoo(\n```\n  ```typescript\n  const b: string = "x";\n  ```\n```sh\nls\n```\n');
    expect(blocks.map((b) => [b.line, b.code])).toEqual([
      [2, 'const a = 1;'],
      [8, 'const b: string = "x";'],
    ]);
    expect(skipped).toBe(1);
  });

  it('catches a wrong example (the check is not vacuous)', () => {
    const bad: Block = { file: 'bad.md', line: 1, code: "import { dag } from 'trainyard';\nconst d = dag('x');\nd.command('a', { command: 42 });" };
    const errors = typeErrors([bad]).get(bad)!;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^bad\.md:4: /);
  }, 120_000);

  it('every ```ts block of README.md and docs/*.md type-checks against the current SDK', () => {
    const blocks = docFiles.flatMap((f) => tsBlocks(f, fs.readFileSync(path.join(root, f), 'utf8')).blocks);
    expect(blocks.length).toBeGreaterThan(10);
    const errors = [...typeErrors(blocks).values()].flat();
    expect(errors, `\n${errors.join('\n')}\n(fence a fragment as \`\`\`ts nocheck only when it cannot stand alone)`).toEqual([]);
  }, 300_000);
});
