// WebSocket subscribers of the load test: each holds one combined stream of the markets'
// trades and depth diffs and measures delivery latency as receive time minus the event
// time `E` the exchange stamps on every message (same machine clock).
import WebSocket from 'ws';
import type { RunRecorder } from './recorder.ts';

/** How long the subscribers may take to connect before the run starts without them. */
export const subscriberConnectTimeoutMs = 10_000;

export interface Subscribers {
  connected(): number;
  close(): Promise<void>;
}

export async function startSubscribers(baseUrl: string, symbols: string[], count: number, recorder: RunRecorder, onError: (code: string) => void): Promise<Subscribers> {
  const streams = symbols.flatMap((symbol) => [`${symbol.toLowerCase()}@trade`, `${symbol.toLowerCase()}@depth@100ms`]).join('/');
  const url = `${baseUrl.replace(/^http/, 'ws')}/stream?streams=${streams}`;
  const sockets: WebSocket[] = [];
  let open = 0;
  let closing = false;
  const connecting: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(socket);
    connecting.push(
      new Promise<void>((resolve) => {
        socket.once('open', () => {
          open += 1;
          resolve();
        });
        socket.once('error', (error) => {
          onError(`ws/${(error as NodeJS.ErrnoException).code ?? 'error'}`);
          resolve();
        });
      }),
    );
    socket.on('message', (data: Buffer) => {
      const receivedMs = performance.timeOrigin + performance.now();
      let message: { data?: { E?: number } };
      try {
        message = JSON.parse(data.toString()) as { data?: { E?: number } };
      } catch {
        onError('ws/bad-json');
        return;
      }
      const eventMs = message.data?.E;
      if (typeof eventMs === 'number') recorder.noteMarketData(Math.max(0, receivedMs - eventMs) * 1000);
    });
    socket.on('close', (code) => {
      open -= 1;
      if (!closing) onError(`ws/closed-${code}`);
    });
  }
  await Promise.race([Promise.all(connecting), new Promise((resolve) => setTimeout(resolve, subscriberConnectTimeoutMs))]);
  return {
    connected: () => open,
    close: async () => {
      closing = true;
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === WebSocket.CLOSED) return resolve();
              socket.once('close', () => resolve());
              socket.close(1000);
              setTimeout(() => {
                socket.terminate();
                resolve();
              }, 2000).unref();
            }),
        ),
      );
    },
  };
}
