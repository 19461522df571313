// The load tester: option parsing and decimal grids as units, then a real 10-second run of
// the CLI against a started embedded server, checking the report's charts, result.json's
// fields, the progress line and the conservation verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionsError, parseMix, parseOptions } from '../../src/tools/loadtest/options.ts';
import { multipleOf } from '../../src/tools/loadtest/exchange.ts';
import { chartIds } from '../../src/tools/loadtest/report.ts';
import { startEmbeddedServer } from './embedded-server.ts';

test('options: required names, defaults, mix and bad values', () => {
  assert.equal(parseOptions(['--help']), null);
  const options = parseOptions(['--url', 'http://127.0.0.1:8080/', '--duration', '10', '--out', 'out', '--admin-token=t'], {})!;
  assert.equal(options.url, 'http://127.0.0.1:8080');
  assert.equal(options.durationSeconds, 10);
  assert.deepEqual(options.mix, { limit: 70, market: 10, cancel: 20 });
  assert.equal(options.ratePerSecond, 200);
  assert.equal(parseOptions(['--url', 'http://h', '--duration', '1', '--out', 'o'], { BOURSE_ADMIN_TOKEN: 'x' })!.adminToken, 'x');
  assert.deepEqual(parseMix('market=30,limit=50,cancel=20'), { limit: 50, market: 30, cancel: 20 });
  for (const argv of [
    ['--duration', '10', '--out', 'o', '--admin-token', 't'],
    ['--url', 'ftp://x', '--duration', '10', '--out', 'o', '--admin-token', 't'],
    ['--url', 'http://x', '--duration', '0', '--out', 'o', '--admin-token', 't'],
    ['--url', 'http://x', '--duration', '1e3', '--out', 'o', '--admin-token', 't'],
    ['--url', 'http://x', '--duration', '10', '--out', 'o'],
    ['--url', 'http://x', '--duration', '10', '--out', 'o', '--admin-token', 't', '--mix', 'limit=50,market=10'],
    ['--url', 'http://x', '--duration', '10', '--out', 'o', '--admin-token', 't', '--bogus', '1'],
  ]) {
    assert.throws(() => parseOptions(argv, {}), OptionsError, argv.join(' '));
  }
});

test('prices and quantities are exact multiples of their grid', () => {
  assert.equal(multipleOf(12345, '0.01000000'), '123.45');
  assert.equal(multipleOf(3, '0.00010000'), '0.0003');
  assert.equal(multipleOf(7, '5'), '35');
  assert.equal(multipleOf(100, '0.01'), '1');
  assert.equal(multipleOf(0, '0.1'), '0');
});

test('a 10-second run against the embedded server writes every chart and every result field', { timeout: 180_000 }, async () => {
  const server = await startEmbeddedServer();
  const outDirectory = mkdtempSync(join(tmpdir(), 'bourse-loadtest-'));
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/tools/loadtest/main.ts', '--url', server.url, '--duration', '10', '--out', outDirectory, '--rate', '100', '--users', '6', '--subscribers', '3', '--admin-token', server.adminToken],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(status, 0, `loadtest failed:\n${stdout}\n${stderr}`);
    assert.match(stdout, /^conservation: PASS$/m);
    assert.match(stderr, /\[\s+1s\/10s\] sent \d+ ok \d+/, 'live progress line');

    const report = readFileSync(join(outDirectory, 'report.html'), 'utf8');
    for (const id of chartIds) assert.match(report, new RegExp(`<figure id="${id}"><h2>[^<]+</h2><svg `), `chart ${id}`);
    assert.doesNotMatch(report, /<script|<link|src="http|href="http|@import/, 'the report loads nothing from elsewhere');
    assert.match(report, /<path d="M/, 'charts have lines');

    const result = JSON.parse(readFileSync(join(outDirectory, 'result.json'), 'utf8'));
    for (const field of ['tool', 'startedAt', 'url', 'options', 'mode', 'coordinatedOmissionCorrected', 'durationSeconds', 'markets', 'requests', 'throughputPerSecond', 'latencyMs', 'serviceTimeMs', 'latencyDistribution', 'byKind', 'errorsByCode', 'marketData', 'timeline', 'solvency', 'conservation']) {
      assert.ok(field in result, `result.json lacks ${field}`);
    }
    assert.equal(result.mode, 'open');
    assert.equal(result.coordinatedOmissionCorrected, true);
    assert.ok(result.requests.sent >= 500, `sent only ${result.requests.sent}`);
    assert.ok(result.requests.ok > result.requests.sent / 2, `ok ${result.requests.ok} of ${result.requests.sent}`);
    assert.ok(result.latencyMs.p99 >= result.latencyMs.p50 && result.latencyMs.p50 > 0);
    assert.ok(result.timeline.length >= 10, `timeline has ${result.timeline.length} seconds`);
    assert.ok(result.marketData.subscribersConnected === 3 && result.marketData.messages > 0, 'subscribers received market data');
    assert.equal(result.solvency.engineBalanced, true);
    assert.ok(!('adminToken' in result.options), 'the admin token is not written out');
  } finally {
    rmSync(outDirectory, { recursive: true, force: true });
    await server.stop();
  }
});
