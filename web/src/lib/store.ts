// A minimal observable value and a hook to read it: enough state management for a
// handful of shared values (session, markets, tickers) without another dependency.
import { useEffect, useState } from 'preact/hooks';

export class Store<T> {
  private listeners = new Set<(value: T) => void>();
  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  set(value: T): void {
    this.current = value;
    for (const listener of this.listeners) listener(value);
  }

  update(change: (value: T) => T): void {
    this.set(change(this.current));
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.value);
  useEffect(() => {
    setValue(store.value);
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

/** Re-runs `load` every `intervalMs` (and when `key` changes); returns the latest value. */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number, key: unknown, initial: T): [T, () => void, string] {
  const [value, setValue] = useState<T>(initial);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    const run = (): void => {
      load().then(
        (result) => {
          if (!alive) return;
          setValue(result);
          setError('');
        },
        (failure: Error) => alive && setError(failure.message),
      );
    };
    run();
    const timer = intervalMs > 0 ? setInterval(run, intervalMs) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
    // `load` is a fresh closure each render; `key` says when the request really changes.
  }, [key, tick]);
  return [value, () => setTick((count) => count + 1), error];
}
