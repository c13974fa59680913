// Prints one closing line from vitest's JSON report: "tests: N passed, N failed, N skipped",
// and names the files that failed outside any test (a hook that threw or timed out, an
// import error), which the per-test counts alone would hide.
import fs from 'node:fs';
import path from 'node:path';

const report = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((t) => t.status === 'failed'),
);
let line = `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`;
if (brokenFiles.length > 0) line += `; ${brokenFiles.length} file(s) failed outside a test`;
console.log(line);
for (const f of brokenFiles) {
  const why = (f.message ?? '').split('\n')[0] || 'a hook or the import failed; its error is printed above';
  console.log(`  ${path.relative(process.cwd(), f.name)}: ${why}`);
}
