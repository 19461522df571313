// The load tester's command line: parse options, run, print a live progress line on
// stderr, write result.json and report.html into --out, print PASS/FAIL for conservation.
// Usage: npm run loadtest -- --url URL --duration SECONDS --out DIR (see --help).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OptionsError, parseOptions, usageText, type LoadtestOptions } from './options.ts';
import { renderReport } from './report.ts';
import { runLoadtest } from './run.ts';
import type { LoadtestResult } from './result.ts';

export async function runAndWrite(options: LoadtestOptions): Promise<LoadtestResult> {
  const interactive = process.stderr.isTTY === true;
  const result = await runLoadtest(options, {
    log: (message) => {
      if (!options.quiet) process.stderr.write(`loadtest: ${message}\n`);
    },
    onInterval: (point, recorder, subscribersConnected) => {
      if (options.quiet) return;
      const line =
        `[${String(point.second).padStart(4)}s/${options.durationSeconds}s] sent ${recorder.sent} ok ${recorder.ok} err ${recorder.errors}` +
        ` | this second: ${point.ok} ok/s p50 ${point.p50Ms} ms p99 ${point.p99Ms} ms` +
        ` | ws ${subscribersConnected} md p99 ${point.marketDataP99Ms} ms`;
      process.stderr.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
    },
  });
  if (interactive && !options.quiet) process.stderr.write('\n');
  await mkdir(options.outDirectory, { recursive: true });
  await writeFile(join(options.outDirectory, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(options.outDirectory, 'report.html'), renderReport(result));
  return result;
}

async function main(): Promise<number> {
  let options: LoadtestOptions | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof OptionsError) {
      console.error(`loadtest: ${error.message}\n\n${usageText}`);
      return 2;
    }
    throw error;
  }
  if (options === null) {
    console.log(usageText);
    return 0;
  }
  const result = await runAndWrite(options);
  const latency = result.latencyMs;
  console.log(
    [
      `throughput: ${result.throughputPerSecond} orders/s ok (${result.requests.sent} sent, ${result.requests.errors} errors, ${result.requests.notSent} not sent)`,
      `latency ms${result.coordinatedOmissionCorrected ? ' (from intended start)' : ''}: p50 ${latency.p50}  p90 ${latency.p90}  p99 ${latency.p99}  p99.9 ${latency.p999}  max ${latency.max}`,
      `market data: ${result.marketData.messages} messages to ${result.marketData.subscribersConnected} subscriber(s), p50 ${result.marketData.latencyMs.p50} ms p99 ${result.marketData.latencyMs.p99} ms`,
      `errors by code: ${Object.keys(result.errorsByCode).length === 0 ? 'none' : Object.entries(result.errorsByCode).map(([code, count]) => `${code}=${count}`).join(' ')}`,
      `report: ${join(options.outDirectory, 'report.html')}  result: ${join(options.outDirectory, 'result.json')}`,
      `conservation: ${result.conservation}`,
    ].join('\n'),
  );
  return result.conservation === 'PASS' ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (status) => process.exit(status),
    (error: unknown) => {
      console.error(`loadtest: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
