// The tidy check: rules a linter does not express. It fails the build when the engine
// reads a clock, randomness or I/O, declares async code, or when a source file grows
// past a size we can review. Run by `npm run lint` and by test/tidy.test.ts.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface TidyProblem {
  file: string;
  line: number;
  message: string;
}

const engineBanned: [RegExp, string][] = [
  [/\bDate\b/, 'no clock in the engine (time comes in the command)'],
  [/\bperformance\s*\./, 'no clock in the engine'],
  [/Math\.random/, 'no randomness in the engine'],
  [/\bsetTimeout|setInterval|setImmediate|queueMicrotask\b/, 'no timers in the engine'],
  [/\basync\b|\bawait\b|\bPromise\b/, 'the engine is synchronous'],
  [/from\s+['"](node:|fs|path|crypto|os|net|http|worker_threads)/, 'no Node or I/O imports in the engine'],
  [/from\s+['"]\.\.\/(adapters|services|ports)\//, 'the engine imports only lib and domain'],
  [/\brequire\s*\(/, 'no require in the engine'],
  [/\bprocess\./, 'no process access in the engine'],
];

function walk(directory: string, found: string[] = []): string[] {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) walk(path, found);
    else if (name.endsWith('.ts')) found.push(path);
  }
  return found;
}

export function tidy(root = '.'): TidyProblem[] {
  const problems: TidyProblem[] = [];
  for (const file of walk(join(root, 'src/engine'))) {
    if (file.endsWith('.test.ts')) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, index) => {
      const code = text.replace(/\/\/.*$/, '');
      for (const [pattern, message] of engineBanned) {
        if (pattern.test(code)) problems.push({ file, line: index + 1, message });
      }
    });
  }
  for (const file of walk(join(root, 'src'))) {
    const lineCount = readFileSync(file, 'utf8').split('\n').length;
    if (lineCount > 2000) problems.push({ file, line: lineCount, message: 'file over 2000 lines: split it' });
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--help')) {
    console.log('usage: node --import tsx scripts/tidy.ts\nChecks engine purity and file sizes; exits 1 on any problem.');
    process.exit(0);
  }
  const problems = tidy();
  for (const problem of problems) console.error(`${problem.file}:${problem.line}: ${problem.message}`);
  console.log(problems.length === 0 ? 'tidy: ok' : `tidy: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
