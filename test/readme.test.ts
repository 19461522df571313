// The README's promises to a newcomer, checked: the two commands, the configuration
// table (every variable src/config.ts reads is documented) and .ci/run calling exactly
// the README's test command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configTable } from '../src/config.ts';

const readme = readFileSync('README.md', 'utf8');

test('README gives the two commands', () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
});

test('README documents every configuration variable', () => {
  const missing = configTable.filter((entry) => !readme.includes(`\`${entry.name}\``)).map((entry) => entry.name);
  assert.deepEqual(missing, []);
});

test('.ci/run runs the README test command', () => {
  const ci = readFileSync('.ci/run', 'utf8');
  assert.match(ci, /^npm ci && npm test$/m);
});
