// Command-line options of the load tester. The names --url, --duration and --out are a
// stable interface (scripts and CI use them); every value is checked here, at the edge.

export const usageText = `usage: npm run loadtest -- --url URL --duration SECONDS --out DIR [options]
       (also: node --import tsx src/tools/loadtest/main.ts ...)

Drives a running Bourse (embedded or cluster) with signed Binance-style orders from users
it creates through the admin API, measures latency with HDR histograms corrected for
coordinated omission, and writes DIR/result.json and a self-contained DIR/report.html.
At the end it reads the solvency report and prints PASS/FAIL for conservation.

  --url URL             Base URL of the exchange, e.g. http://127.0.0.1:8080 (required)
  --duration SECONDS    How long to send orders (required, 1..86400)
  --out DIR             Where to write result.json and report.html (required)
  --rate N              Orders per second, scheduled at fixed intended start times (default 200;
                        0 = closed loop: --concurrency workers send back to back, uncorrected)
  --concurrency N       Most requests in flight at once (default 64)
  --users N             Trading users to create, each with its own API key (default 20)
  --markets N           How many of the exchange's trading markets to use (default 1)
  --mix SPEC            Order mix in percent, e.g. limit=70,market=10,cancel=20 (the default)
  --subscribers N       WebSocket clients on the markets' trade and depth streams (default 4)
  --admin-token TOKEN   Admin API bearer token (default: BOURSE_ADMIN_TOKEN)
  --seed N              Seed of the order generator (default 1)
  --quiet               No live progress line on stderr
  --help                This text

Exit status: 0 when the run completed and conservation holds, 1 otherwise, 2 on bad options.
Per-account and per-IP rate limits of the exchange apply: to measure the engine rather
than the limiter, start the server with higher BOURSE_ORDERS_PER_10S and
BOURSE_WEIGHT_PER_MINUTE, or use more --users.`;

export interface OrderMix {
  limit: number;
  market: number;
  cancel: number;
}

export interface LoadtestOptions {
  url: string;
  durationSeconds: number;
  outDirectory: string;
  ratePerSecond: number;
  concurrency: number;
  users: number;
  markets: number;
  mix: OrderMix;
  subscribers: number;
  adminToken: string;
  seed: number;
  quiet: boolean;
}

export class OptionsError extends Error {
  override name = 'OptionsError';
}

export const limits = {
  durationSecondsMax: 86_400,
  ratePerSecondMax: 1_000_000,
  concurrencyMax: 10_000,
  usersMax: 10_000,
  marketsMax: 100,
  subscribersMax: 20_000,
} as const;

function wholeNumber(name: string, text: string | undefined, minimum: number, maximum: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text)) throw new OptionsError(`${name} needs a whole number`);
  const value = Number(text);
  if (value < minimum || value > maximum) throw new OptionsError(`${name} must be between ${minimum} and ${maximum}, got ${value}`);
  return value;
}

export function parseMix(text: string): OrderMix {
  const mix: OrderMix = { limit: 0, market: 0, cancel: 0 };
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const match = /^(limit|market|cancel)=([0-9]{1,3})$/.exec(part.trim());
    if (!match) throw new OptionsError(`--mix takes limit=N,market=N,cancel=N; cannot read "${part}"`);
    if (seen.has(match[1])) throw new OptionsError(`--mix names ${match[1]} twice`);
    seen.add(match[1]);
    mix[match[1] as keyof OrderMix] = Number(match[2]);
  }
  const total = mix.limit + mix.market + mix.cancel;
  if (total !== 100) throw new OptionsError(`--mix must add up to 100, got ${total}`);
  if (mix.limit === 0 && mix.market === 0) throw new OptionsError('--mix needs some limit or market orders (cancels need orders to cancel)');
  return mix;
}

/** Parses argv (without node and script); returns null when --help was asked for. */
export function parseOptions(argv: string[], environment: NodeJS.ProcessEnv = process.env): LoadtestOptions | null {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--help' || argument === '-h') return null;
    if (argument === '--quiet') {
      flags.add('quiet');
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argument);
    if (!match) throw new OptionsError(`unexpected argument "${argument}"`);
    const name = match[1];
    const known = ['url', 'duration', 'out', 'rate', 'concurrency', 'users', 'markets', 'mix', 'subscribers', 'admin-token', 'seed'];
    if (!known.includes(name)) throw new OptionsError(`unknown option --${name}`);
    if (values.has(name)) throw new OptionsError(`--${name} given twice`);
    const value = match[2] ?? argv[++index];
    if (value === undefined) throw new OptionsError(`--${name} needs a value`);
    values.set(name, value);
  }
  const url = values.get('url');
  if (url === undefined) throw new OptionsError('--url is required');
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new OptionsError(`--url is not a URL: ${url}`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new OptionsError('--url must be http or https');
  const outDirectory = values.get('out');
  if (outDirectory === undefined || outDirectory === '') throw new OptionsError('--out is required');
  const adminToken = values.get('admin-token') ?? environment.BOURSE_ADMIN_TOKEN;
  if (adminToken === undefined || adminToken === '') throw new OptionsError('--admin-token or BOURSE_ADMIN_TOKEN is required (users are created through the admin API)');
  return {
    url: parsedUrl.origin,
    durationSeconds: wholeNumber('--duration', values.get('duration'), 1, limits.durationSecondsMax),
    outDirectory,
    ratePerSecond: values.has('rate') ? wholeNumber('--rate', values.get('rate'), 0, limits.ratePerSecondMax) : 200,
    concurrency: values.has('concurrency') ? wholeNumber('--concurrency', values.get('concurrency'), 1, limits.concurrencyMax) : 64,
    users: values.has('users') ? wholeNumber('--users', values.get('users'), 1, limits.usersMax) : 20,
    markets: values.has('markets') ? wholeNumber('--markets', values.get('markets'), 1, limits.marketsMax) : 1,
    mix: parseMix(values.get('mix') ?? 'limit=70,market=10,cancel=20'),
    subscribers: values.has('subscribers') ? wholeNumber('--subscribers', values.get('subscribers'), 0, limits.subscribersMax) : 4,
    adminToken,
    seed: values.has('seed') ? wholeNumber('--seed', values.get('seed'), 0, 2 ** 32 - 1) : 1,
    quiet: flags.has('quiet'),
  };
}
