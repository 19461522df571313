// FileLog append throughput and latency with group commit: N concurrent appenders, each
// appending one record and awaiting its fsync before the next, for a fixed duration.
// Usage: npm run bench:file-log -- [durationMs=3000] [appenders=64] [payloadBytes=64]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLog } from '../src/adapters/file-log.ts';

if (process.argv.includes('--help')) {
  console.log('usage: npm run bench:file-log -- [durationMs=3000] [appenders=64] [payloadBytes=64]');
  process.exit(0);
}
const [durationMs = 3000, appenders = 64, payloadBytes = 64] = process.argv.slice(2).map(Number);
const directory = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'bourse-bench-file-log-'));
try {
  const log = await FileLog.open(directory);
  const payload = new Uint8Array(payloadBytes).fill(7);
  const latenciesUs: number[] = [];
  const deadline = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        await log.append([payload]);
        latenciesUs.push((performance.now() - started) * 1000);
      }
    }),
  );
  const stats = log.stats();
  await log.close();
  latenciesUs.sort((a, b) => a - b);
  const at = (fraction: number): string => (latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(latenciesUs.length * fraction))]! / 1000).toFixed(2);
  console.log(
    `file log: ${appenders} appenders, ${payloadBytes}-byte records, ${durationMs} ms: ` +
      `${Math.round(stats.appendCount / (durationMs / 1000))} appends/s, ${stats.syncCount} fsyncs ` +
      `(${(stats.appendCount / stats.syncCount).toFixed(1)} appends per fsync), latency ms p50 ${at(0.5)} p99 ${at(0.99)} p99.9 ${at(0.999)}`,
  );
} finally {
  await rm(directory, { recursive: true, force: true });
}
