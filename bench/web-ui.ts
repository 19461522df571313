// Web UI benchmark (`npm run bench:web`). Measures
//   1. the trading screen's first-load transfer: compressed JS + CSS bytes the server
//      sends for index.html's assets (brotli, and gzip for comparison); target <= 300 KB;
//   2. order book rendering in Chromium: the real trading screen, served by the real
//      static server, fed a 50-levels-per-side book and 100 depth diffs per second over
//      its WebSocket (routed by Playwright, so the figure is the browser's alone). Frame
//      timing comes from requestAnimationFrame and the Long Tasks API; a frame interval
//      over 1.5x the display's frame period counts its missing frames as dropped.
// Results are printed and written to the "Web UI" section of bench/RESULTS.md.
// Environment: BENCH_WEB_SECONDS (default 10), BENCH_WEB_DIFFS_PER_SECOND (default 100),
// BENCH_WEB_RECORD=0 to print without touching bench/RESULTS.md.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { registerStaticAssets } from '../src/services/gateway/static.ts';
import { defaultWebDirectory, ensureWebBuilt } from '../src/services/gateway/web/build-ui.ts';
import { launchChromium, repositoryRoot } from '../test/web/support.ts';

const measureSeconds = Number(process.env.BENCH_WEB_SECONDS ?? 10);
const diffsPerSecond = Number(process.env.BENCH_WEB_DIFFS_PER_SECOND ?? 100);
const levelsPerSide = 50;
const levelsChangedPerDiff = 4;
const idleSeconds = 3;
const firstLoadBytesTarget = 300 * 1024;
const symbol = 'BTCUSDT';
const midPriceTicks = 3_000_000;

interface FrameReport {
  frames: number;
  durationMs: number;
  framePeriodMs: number;
  intervalP50Ms: number;
  intervalP99Ms: number;
  intervalMaxMs: number;
  droppedFrames: number;
  longTasks: number;
  longTaskTotalMs: number;
  diffsReceived: number;
  bidRows: number;
  askRows: number;
  /** Main-thread milliseconds per second of wall time (Chromium's Performance metrics). */
  scriptMsPerSecond: number;
  layoutMsPerSecond: number;
  taskMsPerSecond: number;
  /** The same, with the book still (no diffs): what the rest of the page costs. */
  idleTaskMsPerSecond: number;
}

async function firstLoad(): Promise<{ brotliBytes: number; gzipBytes: number; rawBytes: number; files: string[] }> {
  const dist = join(defaultWebDirectory, 'dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
  let brotliBytes = 0;
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const path = join(dist, file);
    rawBytes += readFileSync(path).length;
    brotliBytes += existsSync(`${path}.br`) ? readFileSync(`${path}.br`).length : readFileSync(path).length;
    gzipBytes += existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`).length : readFileSync(path).length;
  }
  return { brotliBytes, gzipBytes, rawBytes, files };
}

function price(ticks: number): string {
  return (ticks / 100).toFixed(2);
}

/** Plain JavaScript evaluated in the page (a string, so no build helpers leak into it). */
function measureScript(seconds: number): string {
  return `(async (seconds) => {
      const intervals = [];
      let longTasks = 0;
      let longTaskTotalMs = 0;
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          longTasks++;
          longTaskTotalMs += entry.duration;
        }
      });
      observer.observe({ type: 'longtask', buffered: false });
      const book = document.querySelector('[data-testid="order-book"]');
      let updates = 0;
      let lastUpdate = book.getAttribute('data-update-id');
      await new Promise((done) => {
        let last = performance.now();
        const start = last;
        const frame = (now) => {
          intervals.push(now - last);
          last = now;
          const current = book.getAttribute('data-update-id');
          if (current !== lastUpdate) {
            updates++;
            lastUpdate = current;
          }
          if (now - start < seconds * 1000) requestAnimationFrame(frame);
          else done();
        };
        requestAnimationFrame(frame);
      });
      observer.disconnect();
      const sorted = [...intervals].sort((left, right) => left - right);
      const quantile = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      const period = quantile(0.5);
      let dropped = 0;
      for (const interval of intervals) if (interval > period * 1.5) dropped += Math.round(interval / period) - 1;
      return {
        frames: intervals.length,
        durationMs: intervals.reduce((sum, value) => sum + value, 0),
        framePeriodMs: period,
        intervalP50Ms: quantile(0.5),
        intervalP99Ms: quantile(0.99),
        intervalMaxMs: sorted[sorted.length - 1],
        droppedFrames: dropped,
        longTasks,
        longTaskTotalMs,
        framesWithNewBook: updates,
        bidRows: document.querySelectorAll('[data-testid="book-bids"] .book-row').length,
        askRows: document.querySelectorAll('[data-testid="book-asks"] .book-row').length,
      };
})(${seconds})`;
}

async function renderBenchmark(): Promise<FrameReport> {
  const app = Fastify();
  registerStaticAssets(app, { root: join(defaultWebDirectory, 'dist') });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The book the "server" holds, as price ticks -> quantity; diffs change a few levels.
    const bids = new Map<number, number>();
    const asks = new Map<number, number>();
    for (let level = 1; level <= levelsPerSide; level++) {
      bids.set(midPriceTicks - level, 1 + (level % 7));
      asks.set(midPriceTicks + level, 1 + (level % 5));
    }
    let updateId = 1000;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const json = (body: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    await page.route('**/api/**', (route) => {
      const url = new URL(route.request().url());
      switch (url.pathname) {
        case '/api/v1/web/session':
          return route.fulfill(json({ user: null }));
        case '/api/v3/exchangeInfo':
          return route.fulfill(
            json({
              symbols: [
                {
                  symbol,
                  status: 'TRADING',
                  baseAsset: 'BTC',
                  quoteAsset: 'USDT',
                  filters: [
                    { filterType: 'PRICE_FILTER', minPrice: '0.01', maxPrice: '1000000.00', tickSize: '0.01' },
                    { filterType: 'LOT_SIZE', minQty: '0.0001', maxQty: '1000', stepSize: '0.0001' },
                    { filterType: 'NOTIONAL', minNotional: '5' },
                  ],
                },
              ],
            }),
          );
        case '/api/v3/depth':
          return route.fulfill(
            json({
              lastUpdateId: updateId,
              bids: [...bids].sort((left, right) => right[0] - left[0]).map(([ticks, quantity]) => [price(ticks), String(quantity)]),
              asks: [...asks].sort((left, right) => left[0] - right[0]).map(([ticks, quantity]) => [price(ticks), String(quantity)]),
            }),
          );
        default:
          return route.fulfill(json([]));
      }
    });
    let diffsSent = 0;
    /** Diffs flow only once the idle baseline has been measured. */
    let sending = false;
    await page.routeWebSocket(/\/stream\?/, (socket) => {
      if (!socket.url().includes('@depth')) return;
      // Timers are coarse under load: send whatever the schedule says is due, so the rate holds.
      let startedMs = 0;
      let sentHere = 0;
      const sendDue = (): void => {
        if (!sending) return;
        if (startedMs === 0) startedMs = Date.now();
        const due = Math.floor(((Date.now() - startedMs) / 1000) * diffsPerSecond);
        while (sentHere < due) {
          sentHere++;
          sendDiff();
        }
      };
      const sendDiff = (): void => {
        const first = updateId + 1;
        const b: [string, string][] = [];
        const a: [string, string][] = [];
        for (let change = 0; change < levelsChangedPerDiff; change++) {
          updateId++;
          const bid = random() < 0.5;
          const side = bid ? bids : asks;
          const ticks = bid ? midPriceTicks - 1 - Math.floor(random() * levelsPerSide) : midPriceTicks + 1 + Math.floor(random() * levelsPerSide);
          const quantity = 1 + Math.floor(random() * 20);
          side.set(ticks, quantity);
          (bid ? b : a).push([price(ticks), String(quantity)]);
        }
        diffsSent++;
        socket.send(JSON.stringify({ stream: `${symbol.toLowerCase()}@depth@100ms`, data: { e: 'depthUpdate', E: Date.now(), s: symbol, U: first, u: updateId, b, a } }));
      };
      if (diffsPerSecond > 0) timers.push(setInterval(sendDue, 1000 / diffsPerSecond));
    });
    await page.goto(`${base}/trade/${symbol}`);
    await page.locator('[data-testid="order-book"][data-synced="true"]').waitFor({ timeout: 20_000 });
    // Let the page settle (chart creation, first paints) before measuring.
    await page.waitForTimeout(1000);
    const diffsBefore = diffsSent;
    // Chromium's own accounting of main-thread work over the measured window.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metricsOf = async (): Promise<Record<string, number>> =>
      Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((metric) => [metric.name, metric.value]));
    // Baseline: the same page with a still book, to tell the book's cost from the page's.
    const idleBefore = await metricsOf();
    await page.evaluate(measureScript(idleSeconds));
    const idleAfter = await metricsOf();
    const idleTaskMsPerSecond = ((idleAfter.TaskDuration! - idleBefore.TaskDuration!) * 1000) / idleSeconds;
    sending = true;
    await page.waitForTimeout(500);
    const metricsBefore = await metricsOf();
    const report = (await page.evaluate(measureScript(measureSeconds))) as Omit<FrameReport, 'diffsReceived' | 'scriptMsPerSecond' | 'layoutMsPerSecond' | 'taskMsPerSecond' | 'idleTaskMsPerSecond'>;
    const diffsReceived = diffsSent - diffsBefore;
    const metricsAfter = await metricsOf();
    const busyMsPerSecond = (name: string): number => ((metricsAfter[name]! - metricsBefore[name]!) * 1000) / measureSeconds;
    return {
      ...report,
      diffsReceived,
      scriptMsPerSecond: busyMsPerSecond('ScriptDuration'),
      layoutMsPerSecond: busyMsPerSecond('LayoutDuration') + busyMsPerSecond('RecalcStyleDuration'),
      taskMsPerSecond: busyMsPerSecond('TaskDuration'),
      idleTaskMsPerSecond,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    await browser.close();
    await app.close();
  }
}

function recordResults(section: string): void {
  const path = join(repositoryRoot, 'bench/RESULTS.md');
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const heading = '## Web UI';
  const start = current.indexOf(`${heading}\n`);
  let next: string;
  if (start < 0) {
    next = `${current.replace(/\s*$/, '')}\n\n${section}`;
  } else {
    const after = current.indexOf('\n## ', start + heading.length);
    next = current.slice(0, start) + section + (after < 0 ? '' : `\n${current.slice(after + 1)}`);
  }
  writeFileSync(path, next.endsWith('\n') ? next : `${next}\n`);
}

async function main(): Promise<void> {
  await ensureWebBuilt();
  const load = await firstLoad();
  const kilobytes = (bytes: number): string => (bytes / 1024).toFixed(1);
  console.log(`first load: ${load.files.join(', ')}`);
  console.log(`  raw ${kilobytes(load.rawBytes)} KB, brotli ${kilobytes(load.brotliBytes)} KB, gzip ${kilobytes(load.gzipBytes)} KB (target <= ${firstLoadBytesTarget / 1024} KB)`);
  const frames = await renderBenchmark();
  console.log(
    `order book, ${levelsPerSide} levels/side, ${diffsPerSecond} diffs/s for ${measureSeconds} s: ` +
      `${frames.frames} frames (${((frames.frames / frames.durationMs) * 1000).toFixed(1)} fps), frame interval p50 ${frames.intervalP50Ms.toFixed(1)} ms, ` +
      `p99 ${frames.intervalP99Ms.toFixed(1)} ms, max ${frames.intervalMaxMs.toFixed(1)} ms, dropped frames ${frames.droppedFrames}, ` +
      `long tasks ${frames.longTasks} (${frames.longTaskTotalMs.toFixed(0)} ms), diffs sent ${frames.diffsReceived}, rows ${frames.bidRows}/${frames.askRows}, ` +
      `main thread per second: tasks ${frames.taskMsPerSecond.toFixed(0)} ms (still book: ${frames.idleTaskMsPerSecond.toFixed(0)} ms), script ${frames.scriptMsPerSecond.toFixed(0)} ms, style+layout ${frames.layoutMsPerSecond.toFixed(0)} ms`,
  );
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const section = [
    '## Web UI',
    '',
    `\`npm run bench:web\` (bench/web-ui.ts), ${date} UTC, Debian Chromium headless on this 2-core machine (shared with other work; load average ${loadavg()[0]!.toFixed(1)} at the end of the run).`,
    '',
    '| Measure | Result | Target |',
    '| --- | --- | --- |',
    `| First load, JS + CSS, brotli (as served) | ${kilobytes(load.brotliBytes)} KB | <= 300 KB |`,
    `| First load, JS + CSS, gzip | ${kilobytes(load.gzipBytes)} KB | |`,
    `| First load, JS + CSS, uncompressed | ${kilobytes(load.rawBytes)} KB | |`,
    `| Order book rows rendered (bids / asks) | ${frames.bidRows} / ${frames.askRows} | 50 / 50 |`,
    `| Depth diffs delivered (${levelsChangedPerDiff} levels each) | ${frames.diffsReceived} in ${measureSeconds} s (${(frames.diffsReceived / measureSeconds).toFixed(0)}/s) | 100/s |`,
    `| Frames | ${frames.frames} (${((frames.frames / frames.durationMs) * 1000).toFixed(1)} fps) | |`,
    `| Frame interval p50 / p99 / max | ${frames.intervalP50Ms.toFixed(1)} / ${frames.intervalP99Ms.toFixed(1)} / ${frames.intervalMaxMs.toFixed(1)} ms | |`,
    `| Dropped frames | ${frames.droppedFrames} | 0 |`,
    `| Main-thread busy time per second: all tasks / script / style + layout | ${frames.taskMsPerSecond.toFixed(0)} / ${frames.scriptMsPerSecond.toFixed(0)} / ${frames.layoutMsPerSecond.toFixed(0)} ms | well under 1000 ms |`,
    `| Same page, book still (no diffs): all tasks | ${frames.idleTaskMsPerSecond.toFixed(0)} ms per second | |`,
    `| Long tasks (> 50 ms) | ${frames.longTasks} (${frames.longTaskTotalMs.toFixed(0)} ms total) | 0 |`,
    '',
    'The book is the real trading screen served by the real static server; its REST snapshot and WebSocket are routed by',
    'Playwright so the figures measure the browser alone. Diffs are applied as they arrive and the book is redrawn at most',
    'once per animation frame and at most every 50 ms (bookRedrawIntervalMs). A frame interval above 1.5x the median counts',
    'its missing frames as dropped. Main-thread busy time is Chromium\'s own accounting (Performance.getMetrics) over the window.',
    '',
  ].join('\n');
  if (process.env.BENCH_WEB_RECORD === '0') return;
  recordResults(section);
  console.log('recorded in bench/RESULTS.md (Web UI section)');
  if (load.brotliBytes > firstLoadBytesTarget) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
