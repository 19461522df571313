// The engine benchmark's harness runs end to end on a small generated flow: both engines'
// checksums must equal the generator's, the JSON line has the fields, and the
// nodejs-order-book baseline runs in a process of its own. No speed is asserted here (speed
// belongs to `npm run bench:engine` on the full flow, see bench/RESULTS.md).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const generator = resolve(root, '../shared/bench/gen-orderflow.mjs');

test('bench:engine on a 20,000-command generated flow: checksums match, JSON line complete', { timeout: 120_000 }, () => {
  assert.ok(existsSync(generator), `the order-flow generator is missing at ${generator} (shared/ must sit beside the checkout)`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/engine.ts'), '--n', '20000', '--json'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one line on stdout, got: ${run.stdout}`);
  const result = JSON.parse(lines[0]!) as Record<string, number>;
  assert.deepEqual(Object.keys(result), ['commands', 'opsPerSec', 'p50Ns', 'p99Ns', 'p999Ns', 'rssMB', 'trades', 'qty', 'notional', 'cancelsOk']);
  assert.equal(result.commands, 20000);
  for (const [name, value] of Object.entries(result)) assert.ok(Number.isFinite(value) && value > 0, `${name} = ${value}`);
  assert.match(run.stderr, /checksum {8}trades \d+ {2}qty \d+ {2}notional \d+ {2}cancelsOk \d+ {2}OK/);
  assert.match(run.stderr, /nodejs-order-book on the same flow \(its own process[^\n]*\n {2}ops\/s[^\n]*checksum OK/);
  assert.match(run.stderr, /ratio {11}Bourse is [0-9.]+x nodejs-order-book/);
});
