/** "file:line" of the user code that called into the SDK, for error messages. */
export function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (/[\\/](sdk)[\\/][^\\/]+\.[cm]?[jt]s$/.test(file) || file.startsWith('node:')) continue;
    return `${file}:${m[2]}`;
  }
  return undefined;
}
