// The stream server's fan-out machinery over real sockets: frames gathered per socket and
// shared between sockets subscribed alike (PendingFrames), written a slice of sockets per
// turn, with messages published between slices joining the frames of sockets not yet
// written, and early writes past the gathered-bytes bound. Whatever the interleaving, every
// client must get exactly the messages of its streams, in publish order, in its own form
// (raw or combined), and nothing else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { MemoryCache, MemoryPubSub } from '../../src/adapters/memory-cache.ts';
import { attachStreamServer } from '../../src/services/gateway/streams.ts';
import { SeededRandom } from '../../src/lib/prng.ts';
import { testLogger } from './support.ts';

interface Listener {
  path: string;
  /** Stream names this client listens to. */
  streams: string[];
  combined: boolean;
  received: unknown[];
  socket: WebSocket;
}

test('every client gets exactly its streams in publish order, across slices, shared frames and early writes', { timeout: 60_000 }, async () => {
  const seed = Number(process.env.FANOUT_SEED ?? 20261122);
  const random = new SeededRandom(seed);
  const pubsub = new MemoryPubSub(undefined, testLogger);
  const reads = { marketBySymbol: (symbol: string) => (symbol === 'BTCUSDT' || symbol === 'ETHUSDT' ? { symbol } : null) };
  const http = createServer();
  // Tiny slices and a small gathered-bytes bound, so one burst spans many turns and early writes.
  const streams = attachStreamServer(http, {
    pubsub, cache: new MemoryCache(), reads: reads as never, logger: testLogger,
    limits: { flushSocketsPerSlice: 3, pendingBytesMax: 600 },
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const shapes: { streams: string[]; combined: boolean }[] = [
    { streams: ['btcusdt@trade', 'btcusdt@depth'], combined: true },
    { streams: ['btcusdt@trade', 'btcusdt@depth'], combined: true },
    { streams: ['btcusdt@trade', 'btcusdt@depth'], combined: true },
    { streams: ['btcusdt@depth', 'btcusdt@trade'], combined: true },
    { streams: ['btcusdt@trade'], combined: true },
    { streams: ['btcusdt@trade'], combined: false },
    { streams: ['btcusdt@depth'], combined: false },
    { streams: ['btcusdt@trade', 'ethusdt@trade'], combined: true },
    { streams: ['ethusdt@trade'], combined: false },
  ];
  const listeners: Listener[] = [];
  try {
    for (let copy = 0; copy < 3; copy++) {
      for (const shape of shapes) {
        const path = shape.combined ? `/stream?streams=${shape.streams.join('/')}` : `/ws/${shape.streams.join('/')}`;
        const socket = new WebSocket(`${base}${path}`, { perMessageDeflate: false });
        const listener: Listener = { path, streams: shape.streams, combined: shape.combined, received: [], socket };
        socket.on('message', (data: Buffer) => listener.received.push(JSON.parse(data.toString())));
        listeners.push(listener);
      }
    }
    await Promise.all(listeners.map((listener) => new Promise((resolve, reject) => {
      listener.socket.once('open', resolve);
      listener.socket.once('error', reject);
    })));
    // Subscriptions are made asynchronously after the upgrade: wait until they are in place.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const channels: Record<string, string> = {
      'btcusdt@trade': 'md.BTCUSDT.trade', 'btcusdt@depth': 'md.BTCUSDT.depth', 'ethusdt@trade': 'md.ETHUSDT.trade',
    };
    const names = Object.keys(channels);
    const published: { stream: string; data: { n: number; filler: string } }[] = [];
    for (let index = 0; index < 400; index++) {
      const stream = names[random.integer(0, names.length - 1)]!;
      const data = { n: index, filler: 'x'.repeat(random.integer(0, 199)) };
      published.push({ stream, data });
      await pubsub.publish(channels[stream]!, JSON.stringify(data));
      // Sometimes several messages share a turn, sometimes a slice or two passes in between.
      const pause = random.integer(0, 3);
      if (pause === 1) await new Promise((resolve) => setImmediate(resolve));
      else if (pause === 2) await new Promise((resolve) => setTimeout(resolve, 1));
    }

    const expected = (listener: Listener) => published
      .filter((message) => listener.streams.includes(message.stream))
      .map((message) => (listener.combined ? { stream: message.stream, data: message.data } : message.data));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && listeners.some((listener) => listener.received.length < expected(listener).length)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const listener of listeners) {
      assert.deepEqual(listener.received, expected(listener), `${listener.path} (seed ${seed})`);
    }
    assert.equal(streams.stats().messagesSent, listeners.reduce((sum, listener) => sum + listener.received.length, 0));
    assert.equal(streams.stats().slowConsumerCloses, 0);
  } finally {
    for (const listener of listeners) listener.socket.terminate();
    await streams.close();
    await new Promise((resolve) => http.close(resolve));
  }
});
