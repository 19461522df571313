// The web UI in a real browser against a really started embedded exchange: two traders
// sign up, an admin credits their deposits through the admin screens, one places a limit
// order that shows in the book and in open orders, the other fills it from a second
// browser context, and the first sees the trade, the fill notification, the new balance
// and the chart candle. Then: cancel, API key create/revoke, and a server-side rejection
// shown verbatim. Screenshots of every screen go to test-results/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, screenshotPath, startServer, watchConsole, type StartedServer } from './support.ts';

const password = 'correct horse battery';
const waitMs = 15_000;

describe('trading web UI', { timeout: 180_000 }, () => {
  let server: StartedServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Console errors per page, read at the end of the test. */
  const pageErrors: string[][] = [];

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  async function newPage(label: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: server.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(waitMs);
    pageErrors.push(watchConsole(page, label));
    return page;
  }

  async function signUp(page: Page, email: string): Promise<void> {
    await page.goto('/signup');
    await page.locator('[data-testid="signup-form"] input[name="email"]').fill(email);
    await page.locator('[data-testid="signup-form"] input[name="password"]').fill(password);
    await page.locator('[data-testid="signup-form"] button[type="submit"]').click();
    await page.waitForURL('**/trade');
    await page.getByTestId('user-email').filter({ hasText: email }).waitFor();
  }

  async function openBalances(page: Page): Promise<void> {
    await page.getByTestId('tab-balances').click();
    await page.getByTestId('balances').waitFor();
  }

  async function placeLimit(page: Page, side: 'buy' | 'sell', price: string, quantity: string): Promise<void> {
    await page.getByTestId(`side-${side}`).click();
    await page.getByTestId('kind-LIMIT').click();
    await page.locator('[data-testid="order-form"] input[name="price"]').fill(price);
    await page.locator('[data-testid="order-form"] input[name="quantity"]').fill(quantity);
    await page.getByTestId('submit-order').click();
  }

  test('sign up, deposit via admin, trade between two browsers, cancel, API keys, server errors', async () => {
    const stamp = Date.now().toString(36);
    const alice = `alice-${stamp}@example.com`;
    const bob = `bob-${stamp}@example.com`;
    const operator = `ops-${stamp}@example.com`;

    // Two traders sign up in two browser contexts (separate cookie jars).
    const alicePage = await newPage('alice');
    await signUp(alicePage, alice);
    const bobPage = await newPage('bob');
    await signUp(bobPage, bob);

    // An operator signs up, becomes admin with the server's token, and credits deposits.
    const adminPage = await newPage('admin');
    await signUp(adminPage, operator);
    await adminPage.goto('/admin');
    await adminPage.locator('[data-testid="admin-claim"] input[name="token"]').fill(server.adminToken);
    await adminPage.locator('[data-testid="admin-claim"] button[type="submit"]').click();
    await adminPage.getByTestId('admin-markets').waitFor();
    await adminPage.locator('[data-testid="admin-markets"] tr[data-symbol="BTCUSDT"]').waitFor();
    await adminPage.goto('/admin/funds');
    const deposit = async (email: string, asset: string, amount: string): Promise<void> => {
      const form = adminPage.getByTestId('admin-deposits');
      await adminPage.locator(`#admin-user-emails option[value="${email}"]`).waitFor({ state: 'attached' });
      await form.locator('input[name="email"]').fill(email);
      await form.locator('select[name="asset"]').selectOption(asset);
      await form.locator('input[name="amount"]').fill(amount);
      await form.locator('button[type="submit"]').click();
      await adminPage.locator('.toast.success', { hasText: `${amount} ${asset} for ${email}` }).waitFor();
    };
    await deposit(alice, 'USDT', '50000');
    await deposit(bob, 'BTC', '2');
    await adminPage.goto('/admin/solvency');
    await adminPage.locator('[data-testid="admin-solvency"] tr[data-asset="USDT"]').waitFor();
    assert.match(await adminPage.getByTestId('solvency-overall').innerText(), /balanced/);
    await adminPage.screenshot({ path: screenshotPath('admin-solvency') });
    await adminPage.goto('/admin/system');
    await adminPage.getByTestId('kpi-commands').waitFor();
    // The three traders' pages hold market and user streams open: the view counts them.
    await adminPage.waitForFunction(() => Number(document.querySelector('[data-testid="kpi-clients"] strong')?.textContent) >= 3);
    // Rates appear from the second sample on.
    await adminPage.waitForFunction(() => /^\d+\.\d$/.test(document.querySelector('[data-testid="kpi-commands"] strong')?.textContent ?? ''));
    await adminPage.screenshot({ path: screenshotPath('admin-system') });
    await adminPage.goto('/admin/markets');
    await adminPage.locator('[data-testid="admin-markets"] tr[data-symbol="ETHUSDT"]').waitFor();
    await adminPage.screenshot({ path: screenshotPath('admin-markets') });

    // Alice sees her deposit (balance and inbox) and places a limit buy.
    await alicePage.goto('/trade/BTCUSDT');
    await openBalances(alicePage);
    await alicePage.getByTestId('free-USDT').filter({ hasText: /^50000(\.0+)?$/ }).waitFor();
    await placeLimit(alicePage, 'buy', '30000', '0.5');
    const accepted = await alicePage.getByTestId('order-result').innerText();
    const orderId = /Order (\d+)/.exec(accepted)?.[1];
    assert.ok(orderId, `order accepted: ${accepted}`);
    await alicePage.locator('[data-testid="book-bids"] .book-row.bid', { hasText: '30,000.00' }).waitFor();
    await alicePage.getByTestId('tab-open').click();
    await alicePage.locator(`[data-testid="open-orders"] tr[data-order-id="${orderId}"]`).waitFor();
    await openBalances(alicePage);
    // The hold covers the notional plus the largest fee the order could pay.
    await alicePage.getByTestId('locked-USDT').filter({ hasText: /^150\d\d(\.\d+)?$/ }).waitFor();
    await alicePage.getByTestId('tab-open').click();
    await alicePage.screenshot({ path: screenshotPath('trading-open-order') });

    // Bob, in the other context, sees the bid and sells into it.
    await bobPage.goto('/trade/BTCUSDT');
    const bid = bobPage.locator('[data-testid="book-bids"] .book-row.bid', { hasText: '30,000.00' });
    await bid.waitFor();
    await bid.click(); // click-a-price fills the form
    assert.equal(await bobPage.locator('[data-testid="order-form"] input[name="price"]').inputValue(), '30000.00');
    await placeLimit(bobPage, 'sell', '30000', '0.5');
    await bobPage.getByTestId('order-result').filter({ hasText: /filled/ }).waitFor();

    // Alice: the trade in recent trades, the fill toast from the user stream, balances, the candle.
    await alicePage.locator('.toast', { hasText: 'Bought 0.5 BTCUSDT at 30000' }).waitFor();
    await alicePage.screenshot({ path: screenshotPath('trading-fill') });
    await alicePage.locator('[data-testid="recent-trades"] .trade-row', { hasText: '30,000.00' }).waitFor();
    await openBalances(alicePage);
    await alicePage.getByTestId('free-BTC').filter({ hasText: /^0\.5(0+)?$/ }).waitFor();
    await alicePage.getByTestId('locked-USDT').filter({ hasText: /^0(\.0+)?$/ }).waitFor();
    const chart = alicePage.getByTestId('chart');
    await alicePage.waitForFunction(() => {
      const element = document.querySelector('[data-testid="chart"]');
      return element && Number(element.getAttribute('data-candles')) >= 1 && element.getAttribute('data-last-close') !== '';
    });
    assert.equal(Number(await chart.getAttribute('data-last-close')), 30000);
    await alicePage.locator('[data-testid="book-bids"] .book-row.bid', { hasText: '30,000.00' }).waitFor({ state: 'detached' });
    await alicePage.getByTestId('tab-trades').click();
    await alicePage.locator('[data-testid="trade-history"] td', { hasText: '30,000.00' }).first().waitFor();
    await alicePage.getByTestId('tab-orders').click();
    await alicePage.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"]`, { hasText: 'FILLED' }).waitFor();
    await alicePage.screenshot({ path: screenshotPath('trading') });

    // The fill is in Alice's notification inbox, with an unread count.
    await alicePage.goto('/account/notifications');
    await alicePage.locator('[data-testid="notification"][data-kind="fill"]', { hasText: 'Bought 0.5 BTCUSDT at 30000' }).waitFor();
    await alicePage.locator('[data-testid="notification"][data-kind="deposit"]', { hasText: 'Deposit of 50000 USDT' }).waitFor();
    const unreadText = await alicePage.getByTestId('unread-count').innerText();
    assert.ok(Number(/\((\d+) unread\)/.exec(unreadText)?.[1]) >= 2, unreadText);
    assert.ok(Number(await alicePage.getByTestId('unread-badge').innerText()) >= 2, 'the header shows the unread count');
    await alicePage.screenshot({ path: screenshotPath('account-notifications') });
    await alicePage.getByTestId('mark-all-read').click();
    await alicePage.getByTestId('unread-count').filter({ hasText: '(0 unread)' }).waitFor();
    await alicePage.getByTestId('unread-badge').waitFor({ state: 'detached' });

    // Webhook setting: saved with a generated signing secret, still there after a reload.
    const hookUrl = 'http://127.0.0.1:9/bourse-hook';
    await alicePage.goto('/account/webhook');
    await alicePage.locator('[data-testid="webhook"] input[name="url"]').fill(hookUrl);
    await alicePage.locator('[data-testid="webhook"] button[type="submit"]').click();
    await alicePage.getByTestId('webhook-status').filter({ hasText: 'Webhook saved' }).waitFor();
    assert.match(await alicePage.locator('[data-testid="webhook"] input[name="secret"]').inputValue(), /^[0-9a-f]{48}$/);
    await alicePage.reload();
    await alicePage.waitForFunction((url) => (document.querySelector('[data-testid="webhook"] input[name="url"]') as HTMLInputElement | null)?.value === url, hookUrl);

    // Cancel an order.
    await alicePage.goto('/trade/BTCUSDT');
    await placeLimit(alicePage, 'buy', '25000', '0.1');
    const second = /Order (\d+)/.exec(await alicePage.getByTestId('order-result').innerText())?.[1];
    assert.ok(second);
    await alicePage.getByTestId('tab-open').click();
    await alicePage.locator(`[data-testid="open-orders"] tr[data-order-id="${second}"]`).waitFor();
    await alicePage.getByTestId(`cancel-${second}`).click();
    await alicePage.locator(`[data-testid="open-orders"] tr[data-order-id="${second}"]`).waitFor({ state: 'detached' });
    await alicePage.locator('[data-testid="book-bids"] .book-row.bid', { hasText: '25,000.00' }).waitFor({ state: 'detached' });

    // Cancel all: two resting orders, one click.
    await placeLimit(alicePage, 'buy', '24000', '0.1');
    await alicePage.getByTestId('order-result').filter({ hasText: 'placed' }).waitFor();
    await placeLimit(alicePage, 'buy', '23000', '0.1');
    await alicePage.getByTestId('tab-open').click();
    await alicePage.getByTestId('tab-open').filter({ hasText: 'Open orders (2)' }).waitFor();
    await alicePage.getByTestId('cancel-all').click();
    await alicePage.getByTestId('tab-open').filter({ hasText: 'Open orders (0)' }).waitFor();
    await alicePage.locator('[data-testid="book-bids"] .book-row.bid').first().waitFor({ state: 'detached' });

    // An order the filters allow but the engine refuses: the server's own message is shown.
    await placeLimit(alicePage, 'buy', '30000', '100');
    await alicePage.getByTestId('order-error').filter({ hasText: 'Account has insufficient balance for requested action.' }).waitFor();
    // And one the form itself refuses against exchangeInfo, before sending.
    await placeLimit(alicePage, 'buy', '30000.001', '0.1');
    await alicePage.getByTestId('order-error').filter({ hasText: 'Price must be a multiple of 0.01' }).waitFor();

    // API keys: create with trade permission, the secret shown once, works; revoke, refused.
    await alicePage.goto('/account/keys');
    await alicePage.getByTestId('create-key').click();
    const apiKey = await alicePage.getByTestId('new-api-key').innerText();
    const secret = await alicePage.getByTestId('new-secret').innerText();
    assert.match(apiKey, /^[A-Za-z0-9]{64}$/);
    assert.match(secret, /^[A-Za-z0-9]{64}$/);
    const signedAccount = async (): Promise<{ status: number; body: { code?: number; balances?: unknown[] } }> => {
      const query = `timestamp=${Date.now()}`;
      const signature = createHmac('sha256', secret).update(query).digest('hex');
      const response = await fetch(`${server.url}/api/v3/account?${query}&signature=${signature}`, { headers: { 'X-MBX-APIKEY': apiKey } });
      return { status: response.status, body: (await response.json()) as { code?: number; balances?: unknown[] } };
    };
    const working = await signedAccount();
    assert.equal(working.status, 200, JSON.stringify(working.body));
    assert.ok(Array.isArray(working.body.balances));
    await alicePage.screenshot({ path: screenshotPath('account-api-keys') });
    await alicePage.locator(`tr[data-api-key="${apiKey}"] [data-testid="revoke-key"]`).click();
    await alicePage.locator(`tr[data-api-key="${apiKey}"]`, { hasText: 'revoked' }).waitFor();
    const refused = await signedAccount();
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, -2015);

    // Phone width: the trading screen stacks into one column.
    const phone = await newPage('phone', { width: 390, height: 844 });
    await phone.goto('/trade/BTCUSDT');
    await phone.getByTestId('order-book').waitFor();
    await phone.getByTestId('chart').waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `no horizontal scroll at phone width (overflow ${overflow}px)`);
    await phone.screenshot({ path: screenshotPath('trading-phone'), fullPage: true });

    assert.deepEqual(pageErrors.flat(), [], 'no console errors');
  });
});
