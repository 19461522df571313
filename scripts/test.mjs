#!/usr/bin/env node
// Runs the test suite with Node's built-in test runner (TypeScript through tsx).
// Usage: npm test [-- <filter> ...]   Only files whose path contains a filter run.
// Environment: TEST_CONCURRENCY (default 2), plus what each suite documents.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npm test [-- <path filter> ...]\nRuns every *.test.ts under src/ and test/ (or those matching a filter).');
  process.exit(0);
}

function walk(directory, found) {
  for (const name of readdirSync(directory)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(directory, name);
    if (statSync(path).isDirectory()) walk(path, found);
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = walk('src', walk('test', [])).sort().filter((file) => args.length === 0 || args.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test files match ${args.join(' ')}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
