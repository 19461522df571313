// One WebSocket per purpose: the market streams on `/stream?streams=a/b` (Binance's
// combined form, payloads wrapped as {stream, data}) and the user data stream on
// `/ws/<listenKey>`. Reconnects with capped backoff; every (re)connect is reported so
// consumers that need continuity (the order book) resync instead of trusting a gap.

export const reconnectDelayMsMin = 500;
export const reconnectDelayMsMax = 10_000;

export interface StreamHandlers {
  onMessage: (stream: string, data: unknown) => void;
  /** Called after every successful (re)connect. */
  onOpen?: () => void;
  onClose?: () => void;
}

function socketUrl(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

export class StreamConnection {
  private socket: WebSocket | null = null;
  private closed = false;
  private reconnectDelayMs = reconnectDelayMsMin;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `path` is `/stream?streams=...` (combined) or `/ws/<name>` (raw payloads). */
  constructor(
    private readonly path: string,
    private readonly handlers: StreamHandlers,
    private readonly combined: boolean,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const socket = new WebSocket(socketUrl(this.path));
    this.socket = socket;
    socket.onopen = () => {
      this.reconnectDelayMs = reconnectDelayMsMin;
      this.handlers.onOpen?.();
    };
    socket.onmessage = (event: MessageEvent) => {
      let payload: unknown;
      try {
        payload = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (this.combined) {
        const wrapped = payload as { stream?: string; data?: unknown };
        if (typeof wrapped.stream === 'string') this.handlers.onMessage(wrapped.stream, wrapped.data);
      } else {
        this.handlers.onMessage('', payload);
      }
    };
    socket.onclose = () => {
      this.socket = null;
      this.handlers.onClose?.();
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.reconnectDelayMs);
      this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, reconnectDelayMsMax);
    };
    socket.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}

export function combinedStream(streams: string[], handlers: StreamHandlers): StreamConnection {
  return new StreamConnection(`/stream?streams=${streams.join('/')}`, handlers, true);
}

export function rawStream(name: string, handlers: StreamHandlers): StreamConnection {
  return new StreamConnection(`/ws/${encodeURIComponent(name)}`, handlers, false);
}
