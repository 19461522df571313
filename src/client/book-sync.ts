// A reference client that keeps a local order book in sync with a Binance-dialect server,
// following Binance's documented procedure for the diff depth stream, and nothing else
// from this code base (it talks HTTP and WebSocket only):
//   1. open the `<symbol>@depth` stream and buffer its events, noting the first event's U;
//   2. fetch a REST snapshot (/api/v3/depth, limit 5000);
//   3. if the snapshot's lastUpdateId is below that first U, fetch it again;
//   4. drop buffered events with u <= lastUpdateId; the first one left must have
//      U <= lastUpdateId + 1 <= u;
//   5. set the book to the snapshot (update id = lastUpdateId) and apply the buffered and
//      then the live events: ignore u <= book id; if U > book id + 1 an event was lost, so
//      discard the book and start again from step 1's buffer and step 2; otherwise set each
//      level to its absolute quantity (0 removes it) and the book id to u.

import WebSocket from 'ws';

export interface DepthEvent {
  e: string;
  E: number;
  s: string;
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

export interface DepthSnapshot {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

export type ApplyOutcome = 'applied' | 'ignored' | 'gap';

/** The book itself: price text -> quantity text per side, plus the update id it is at. */
export class LocalOrderBook {
  updateId = -1;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();

  reset(snapshot: DepthSnapshot): void {
    this.bids.clear();
    this.asks.clear();
    for (const [price, quantity] of snapshot.bids) this.bids.set(price, quantity);
    for (const [price, quantity] of snapshot.asks) this.asks.set(price, quantity);
    this.updateId = snapshot.lastUpdateId;
  }

  apply(event: DepthEvent): ApplyOutcome {
    if (event.u <= this.updateId) return 'ignored';
    if (event.U > this.updateId + 1) return 'gap';
    for (const [price, quantity] of event.b) setLevel(this.bids, price, quantity);
    for (const [price, quantity] of event.a) setLevel(this.asks, price, quantity);
    this.updateId = event.u;
    return 'applied';
  }

  /** Levels best first (bids high to low, asks low to high), as [price, quantity] texts. */
  levels(side: 'bids' | 'asks', levelsMax = Number.POSITIVE_INFINITY): [string, string][] {
    const entries = [...this[side].entries()];
    entries.sort((left, right) => compareDecimal(left[0], right[0]) * (side === 'bids' ? -1 : 1));
    return entries.slice(0, levelsMax);
  }
}

function setLevel(levels: Map<string, string>, price: string, quantity: string): void {
  if (/^0*(\.0*)?$/.test(quantity)) levels.delete(price);
  else levels.set(price, quantity);
}

/** Compares two plain non-negative decimal strings exactly. */
export function compareDecimal(left: string, right: string): number {
  const [leftWhole = '', leftFraction = ''] = left.split('.');
  const [rightWhole = '', rightFraction = ''] = right.split('.');
  const a = leftWhole.replace(/^0+/, '');
  const b = rightWhole.replace(/^0+/, '');
  if (a.length !== b.length) return a.length - b.length;
  if (a !== b) return a < b ? -1 : 1;
  const width = Math.max(leftFraction.length, rightFraction.length);
  const c = leftFraction.padEnd(width, '0');
  const d = rightFraction.padEnd(width, '0');
  return c === d ? 0 : c < d ? -1 : 1;
}

export interface BookSyncOptions {
  /** REST base, e.g. http://127.0.0.1:8080 */
  restUrl: string;
  /** WebSocket base, e.g. ws://127.0.0.1:8080 */
  streamUrl: string;
  symbol: string;
  /** `depth` (per update batch) or `depth@100ms`. */
  stream?: 'depth' | 'depth@100ms';
  snapshotLimit?: number;
  /** Events buffered while waiting for a snapshot; more means the client cannot keep up. */
  bufferEventsMax?: number;
  /** Snapshot fetches per sync attempt before giving up. */
  snapshotAttemptsMax?: number;
  fetchImplementation?: typeof fetch;
}

/** Keeps a LocalOrderBook in sync; counts resyncs so callers can see gaps were handled. */
export class BookSync {
  readonly book = new LocalOrderBook();
  resyncs = 0;
  eventsApplied = 0;
  /** lastUpdateId of the snapshot the book was last synced from (-1 before the first sync). */
  snapshotUpdateId = -1;
  private socket: WebSocket | null = null;
  private buffer: DepthEvent[] = [];
  private synced = false;
  private syncing: Promise<void> | null = null;
  private closed = false;
  private failure: Error | null = null;
  private readonly options: Required<Omit<BookSyncOptions, 'fetchImplementation'>> & { fetchImplementation: typeof fetch };

  constructor(options: BookSyncOptions) {
    this.options = {
      stream: 'depth', snapshotLimit: 5000, bufferEventsMax: 100_000, snapshotAttemptsMax: 20,
      fetchImplementation: fetch, ...options,
    };
  }

  /** Opens the stream and resolves once the book is synced with a snapshot. */
  async start(): Promise<void> {
    const streamName = `${this.options.symbol.toLowerCase()}@${this.options.stream}`;
    const socket = new WebSocket(`${this.options.streamUrl}/ws/${streamName}`);
    this.socket = socket;
    socket.on('message', (data) => this.onEvent(JSON.parse(data.toString()) as DepthEvent));
    socket.on('error', (error) => { this.failure = error; });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await this.sync();
  }

  isSynced(): boolean {
    return this.synced;
  }

  error(): Error | null {
    return this.failure;
  }

  /** Resolves when the book has applied every event up to `updateId` (or rejects on timeout). */
  async waitForUpdateId(updateId: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.synced && this.book.updateId >= updateId)) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`book-sync: at update ${this.book.updateId}, waited for ${updateId}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  private onEvent(event: DepthEvent): void {
    if (event.e !== 'depthUpdate') return;
    if (!this.synced) {
      this.buffer.push(event);
      if (this.buffer.length > this.options.bufferEventsMax) this.failure = new Error('book-sync: buffer overflow while syncing');
      return;
    }
    const outcome = this.book.apply(event);
    if (outcome === 'applied') this.eventsApplied += 1;
    if (outcome === 'gap') this.restart(event);
  }

  private restart(event: DepthEvent): void {
    this.resyncs += 1;
    this.synced = false;
    this.buffer = [event];
    void this.sync();
  }

  private async sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = this.runSync().finally(() => { this.syncing = null; });
    return this.syncing;
  }

  private async runSync(): Promise<void> {
    for (let attempt = 0; attempt < this.options.snapshotAttemptsMax && !this.closed; attempt++) {
      // Wait for the first event so its U is known (step 1).
      while (this.buffer.length === 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, 2));
      if (this.closed) return;
      const firstU = this.buffer[0]!.U;
      const response = await this.options.fetchImplementation(
        `${this.options.restUrl}/api/v3/depth?symbol=${this.options.symbol}&limit=${this.options.snapshotLimit}`,
      );
      if (!response.ok) throw new Error(`book-sync: snapshot HTTP ${response.status}`);
      const snapshot = (await response.json()) as DepthSnapshot;
      if (snapshot.lastUpdateId < firstU) {
        // Step 3: the snapshot is older than our buffer; ask again a little later.
        await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
        continue;
      }
      this.buffer = this.buffer.filter((event) => event.u > snapshot.lastUpdateId); // step 4
      const first = this.buffer[0];
      if (first && !(first.U <= snapshot.lastUpdateId + 1 && snapshot.lastUpdateId + 1 <= first.u)) {
        // The buffer does not connect to the snapshot: an event was lost; start again.
        this.buffer = this.buffer.slice(-1);
        continue;
      }
      this.book.reset(snapshot); // step 5
      this.snapshotUpdateId = snapshot.lastUpdateId;
      let gap = false;
      for (const event of this.buffer) {
        const outcome = this.book.apply(event);
        if (outcome === 'applied') this.eventsApplied += 1;
        if (outcome === 'gap') {
          gap = true;
          this.buffer = [event];
          break;
        }
      }
      if (gap) {
        this.resyncs += 1;
        continue;
      }
      this.buffer = [];
      this.synced = true;
      return;
    }
    if (!this.closed) this.failure = new Error('book-sync: could not sync after repeated snapshots');
  }
}
