// The trading screen against a live market: the server's built-in simulation keeps the
// demo book moving, and the book the page renders (kept by snapshot + depth diffs) must
// equal the server's REST depth whenever both stand at the same update id. Also saves a
// screenshot of a busy trading screen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshotPath, startServer, watchConsole, type StartedServer } from './support.ts';

const comparisonsWanted = 3;
const attemptsMax = 200;
const levelsCompared = 50;

describe('live order book', { timeout: 180_000 }, () => {
  let server: StartedServer;
  let browser: Browser;

  before(async () => {
    server = await startServer({ BOURSE_SIMULATE: 'true' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the rendered book equals the REST depth at the same update id', async () => {
    const page = await browser.newPage({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
    const errors = watchConsole(page, 'live');
    await page.goto('/trade/BTCUSDT');
    await page.locator('[data-testid="order-book"][data-synced="true"]').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="book-bids"] .book-row').length >= 3, undefined, { timeout: 30_000 });

    let compared = 0;
    for (let attempt = 0; attempt < attemptsMax && compared < comparisonsWanted; attempt++) {
      const depth = (await (await fetch(`${server.url}/api/v3/depth?symbol=BTCUSDT&limit=${levelsCompared}`)).json()) as {
        lastUpdateId: number;
        bids: [string, string][];
        asks: [string, string][];
      };
      // Wait briefly for the page to reach exactly that update id (diffs arrive in 100 ms batches).
      const rendered = await page.evaluate(
        `new Promise((resolve) => {
          const started = performance.now();
          const check = () => {
            const book = document.querySelector('[data-testid="order-book"]');
            const id = Number(book.getAttribute('data-update-id'));
            if (id === ${depth.lastUpdateId}) {
              const rows = (side) => Array.from(document.querySelectorAll('[data-testid="book-' + side + '"] .book-row')).map((row) => row.getAttribute('data-price') + ' ' + row.children[2].textContent.replace(/,/g, ''));
              resolve({ id, bids: rows('bids'), asks: rows('asks') });
            } else if (id > ${depth.lastUpdateId} || performance.now() - started > 400) resolve(null);
            else requestAnimationFrame(check);
          };
          check();
        })`,
      );
      if (!rendered) continue;
      const view = rendered as { bids: string[]; asks: string[] };
      const format = (level: [string, string]) => `${level[0]} ${Number(level[1]).toFixed(4)}`;
      assert.deepEqual(view.bids, depth.bids.map(format), `bids at update id ${depth.lastUpdateId}`);
      assert.deepEqual(view.asks, depth.asks.map(format), `asks at update id ${depth.lastUpdateId}`);
      compared++;
    }
    assert.equal(compared, comparisonsWanted, `compared the book at ${comparisonsWanted} update ids`);

    await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart"]')?.getAttribute('data-candles')) >= 1);
    // A few more seconds of market for a screenshot that shows a moving book and tape.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="recent-trades"] .trade-row').length >= 8, undefined, { timeout: 60_000 });
    await page.screenshot({ path: screenshotPath('trading-live') });
    assert.deepEqual(errors, []);
  });
});
