// The tidy check (scripts/tidy.ts) passes on this repository's engine and fails on a planted
// violation, so the engine stays free of clocks, randomness, timers, async code and I/O.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tidy } from '../scripts/tidy.ts';

test('src/engine passes the tidy check', () => {
  assert.deepEqual(tidy('.'), []);
});

test('the tidy check catches planted violations', () => {
  const root = mkdtempSync(join(tmpdir(), 'bourse-tidy-'));
  try {
    mkdirSync(join(root, 'src/engine'), { recursive: true });
    writeFileSync(join(root, 'src/engine/clean.ts'), '// A clean file: Date in a comment is fine.\nexport const answer = 42;\n');
    writeFileSync(
      join(root, 'src/engine/bad.ts'),
      [
        "import { readFileSync } from 'node:fs';",
        'export const now = Date.now();',
        'export const noise = Math.random();',
        'export async function later(): Promise<void> {}',
        "export const file = readFileSync('x');",
        "setTimeout(() => {}, 1);",
      ].join('\n'),
    );
    writeFileSync(join(root, 'src/engine/big.ts'), 'export const line = 1;\n'.repeat(2001));
    const problems = tidy(root);
    const bad = problems.filter((problem) => problem.file.endsWith('bad.ts'));
    assert.deepEqual(bad.map((problem) => problem.line).sort((a, b) => a - b), [1, 2, 3, 4, 6]);
    assert.ok(problems.some((problem) => problem.file.endsWith('big.ts') && /2000 lines/.test(problem.message)));
    assert.equal(problems.filter((problem) => problem.file.endsWith('clean.ts')).length, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
