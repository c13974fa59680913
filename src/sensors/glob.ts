/**
 * A small glob matcher for file sensors (Node 20 has no fs.glob): `*` and `?` within one path
 * segment, `**` as a whole segment for any number of directories, and classes `[abc]`, `[a-z]`,
 * `[!abc]` (or `[^abc]`). Like a shell, `*`, `?`, classes and `**` do not match names that
 * start with a dot unless the pattern segment itself starts with one, so a file still being
 * written under a hidden temporary name does not count. `\` escapes the next character.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

const MAGIC = /[*?[\\]/;

export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** One path segment of a pattern as an anchored regular expression. */
export function segmentRegExp(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '\\' && i + 1 < segment.length) {
      out += escapeRe(segment[++i]);
    } else if (c === '*') {
      while (segment[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = classEnd(segment, i);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, end);
      let negate = false;
      if (body[0] === '!' || body[0] === '^') {
        negate = true;
        body = body.slice(1);
      }
      const chars = body.replace(/\\/g, '\\\\').replace(/]/g, '\\]').replace(/\[/g, '\\[');
      out += negate ? `[^/${chars}]` : `[${chars}]`;
      i = end;
    } else {
      out += escapeRe(c);
    }
  }
  return new RegExp(`^${out}$`, 'u');
}

/** Index of the `]` closing the class opened at `start`, or −1. A `]` first in the class is literal. */
function classEnd(s: string, start: number): number {
  let i = start + 1;
  if (s[i] === '!' || s[i] === '^') i++;
  if (s[i] === ']') i++;
  for (; i < s.length; i++) if (s[i] === ']') return i;
  return -1;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

interface Segment {
  readonly text: string;
  readonly globstar: boolean;
  readonly literal: boolean;
  readonly re?: RegExp;
  readonly matchesDot: boolean;
}

function compile(pattern: string): { root: string; segments: Segment[] } {
  const parts = pattern.split('/');
  const root = pattern.startsWith('/') ? '/' : '.';
  const segments: Segment[] = [];
  for (const text of parts) {
    if (text === '' || text === '.') continue;
    if (text === '**') {
      if (segments.at(-1)?.globstar) continue;
      segments.push({ text, globstar: true, literal: false, matchesDot: false });
    } else if (hasMagic(text)) {
      segments.push({ text, globstar: false, literal: false, re: segmentRegExp(text), matchesDot: text.startsWith('.') });
    } else {
      segments.push({ text, globstar: false, literal: true, matchesDot: true });
    }
  }
  return { root, segments };
}

function segmentMatches(seg: Segment, name: string): boolean {
  if (seg.literal) return seg.text === name;
  if (name.startsWith('.') && !seg.matchesDot) return false;
  return seg.globstar || seg.re!.test(name);
}

/** Whether a `/`-separated path matches a pattern, without touching the file system. */
export function matchGlob(pattern: string, candidate: string): boolean {
  const { segments } = compile(pattern);
  const names = candidate.split('/').filter((p) => p !== '' && p !== '.');
  if (pattern.startsWith('/') !== candidate.startsWith('/')) return false;
  const memo = new Map<number, boolean>();
  const walk = (si: number, ni: number): boolean => {
    const key = si * (names.length + 1) + ni;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let r: boolean;
    if (si === segments.length) r = ni === names.length;
    else if (segments[si].globstar) {
      r = walk(si + 1, ni) || (ni < names.length && !names[ni].startsWith('.') && walk(si, ni + 1));
    } else r = ni < names.length && segmentMatches(segments[si], names[ni]) && walk(si + 1, ni + 1);
    memo.set(key, r);
    return r;
  };
  return walk(0, 0);
}

export interface GlobSearchOptions {
  signal?: AbortSignal;
  /** Stop after reading this many directory entries (default 100,000), so one check stays cheap. */
  maxEntries?: number;
}

export interface GlobSearchResult {
  /** The first path found that matches, or undefined. */
  readonly match?: string;
  /** Directory entries read. */
  readonly scanned: number;
  /** The search stopped at maxEntries before finding a match. */
  readonly truncated: boolean;
  /** A read error other than "does not exist", in plain words (e.g. permission denied). */
  readonly error?: string;
}

/**
 * Finds the first existing path that matches an absolute pattern (a relative one is taken from
 * the current directory). Reads only the directories the pattern can reach: the literal prefix
 * is not listed, and `**` does not follow symbolic links (no loops).
 */
export async function findFirstMatch(pattern: string, opts: GlobSearchOptions = {}): Promise<GlobSearchResult> {
  const { root, segments } = compile(pattern);
  const maxEntries = opts.maxEntries ?? 100_000;
  let scanned = 0;
  let truncated = false;
  let error: string | undefined;

  const note = (e: unknown, p: string): void => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    error ??= `cannot read ${p}: ${(e as Error).message}`;
  };

  const exists = async (p: string): Promise<boolean> => {
    try {
      await fs.lstat(p);
      return true;
    } catch (e) {
      note(e, p);
      return false;
    }
  };

  const list = async (dir: string) => {
    opts.signal?.throwIfAborted();
    try {
      const entries = await fs.readdir(dir, { withFileTypes: true });
      scanned += entries.length;
      if (scanned > maxEntries) truncated = true;
      return entries;
    } catch (e) {
      note(e, dir);
      return [];
    }
  };

  const walk = async (dir: string, si: number): Promise<string | undefined> => {
    if (truncated) return undefined;
    if (si === segments.length) return dir;
    const seg = segments[si];
    if (seg.literal) {
      const p = path.join(dir, seg.text);
      if (si === segments.length - 1) return (await exists(p)) ? p : undefined;
      return walk(p, si + 1);
    }
    const entries = await list(dir);
    if (seg.globstar) {
      const here = await walk(dir, si + 1);
      if (here !== undefined) return here;
      for (const e of entries) {
        if (truncated) return undefined;
        if (e.isDirectory() && !e.name.startsWith('.')) {
          const found = await walk(path.join(dir, e.name), si);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    }
    for (const e of entries) {
      if (!segmentMatches(seg, e.name)) continue;
      const p = path.join(dir, e.name);
      if (si === segments.length - 1) return p;
      if (e.isDirectory() || e.isSymbolicLink()) {
        const found = await walk(p, si + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };

  const start = root === '/' ? '/' : process.cwd();
  const match = await walk(start, 0);
  return { match, scanned, truncated: match === undefined && truncated, ...(error && match === undefined ? { error } : {}) };
}
