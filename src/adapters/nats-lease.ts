// NatsLease: the engine leader's lease in a NATS KV bucket. One key holds the holder's id
// and term; it is created only when absent and renewed only at the revision last seen, so
// two holders can never both renew. The bucket's TTL makes a dead leader's key vanish, and
// the holder stops trusting its lease before the server can expire it (local monotonic
// clock), so a paused leader wakes up already fenced. Together with the log's
// Nats-Expected-Last-Sequence check, an old leader can never append again.
import { Kvm, type KV } from '@nats-io/kv';
import { createLogger } from './logger.ts';
import { connectNats, type NatsConnection } from './nats-connection.ts';

/** Lease lifetime without renewal; the standby takes over about this long after a crash. */
export const leaseTtlMsDefault = 1500;
/** Renewals per lease lifetime: several, so one slow renewal does not lose the lease. */
export const renewalsPerTtl = 4;
/** The holder stops trusting its lease this long before the server could expire it. */
export const leaseSafetyMarginMs = 250;
/** How often a standby tries to take a free lease. */
export const acquirePollMs = 100;

const log = createLogger('nats-lease');

export interface LeaseOptions {
  /** KV bucket name, e.g. BOURSE_LEASES (one per cluster). */
  bucket: string;
  /** Key inside the bucket, e.g. `engine`. */
  key?: string;
  /** Who asks: host name + pid, printed in logs and stored in the value. */
  holderId: string;
  ttlMs?: number;
  servers?: string;
  connection?: NatsConnection;
}

export interface LeaseHolder {
  holderId: string;
  term: number;
  acquiredAtMs: number;
}

export class NatsLease {
  readonly holderId: string;
  readonly ttlMs: number;
  private readonly key: string;
  private readonly kv: KV;
  private readonly connection: NatsConnection;
  private readonly ownsConnection: boolean;
  private revision = 0;
  private term = 0;
  private holding = false;
  /** performance.now() when the last successful renewal was sent. */
  private lastRenewSentMs = 0;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly lostListeners = new Set<(reason: string) => void>();
  private closed = false;

  private constructor(kv: KV, connection: NatsConnection, ownsConnection: boolean, options: LeaseOptions) {
    this.kv = kv;
    this.connection = connection;
    this.ownsConnection = ownsConnection;
    this.key = options.key ?? 'engine';
    this.holderId = options.holderId;
    this.ttlMs = options.ttlMs ?? leaseTtlMsDefault;
  }

  static async open(options: LeaseOptions): Promise<NatsLease> {
    const connection = options.connection ?? (await connectNats(options.servers, `bourse-lease-${options.holderId}`));
    try {
      const ttlMs = options.ttlMs ?? leaseTtlMsDefault;
      const kv = await new Kvm(connection).create(options.bucket, { history: 1, ttl: ttlMs });
      return new NatsLease(kv, connection, options.connection === undefined, options);
    } catch (error) {
      if (options.connection === undefined) await connection.close();
      throw error;
    }
  }

  /** The current holder as stored (null when the lease is free). */
  async holder(): Promise<(LeaseHolder & { revision: number }) | null> {
    const entry = await this.kv.get(this.key);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
    return { ...(entry.json() as LeaseHolder), revision: entry.revision };
  }

  /** Takes the lease if it is free. Resolves true when this process now holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) return false;
    if (this.isHeld()) return true;
    const sentMs = performance.now();
    try {
      // The term is the revision of the creating write: it grows with every new holder.
      this.revision = await this.kv.create(this.key, JSON.stringify({ holderId: this.holderId, term: 0, acquiredAtMs: Date.now() } satisfies LeaseHolder));
    } catch {
      return false;
    }
    this.term = this.revision;
    this.holding = true;
    this.lastRenewSentMs = sentMs;
    this.scheduleRenewal();
    log.info({ holderId: this.holderId, term: this.term, revision: this.revision }, 'lease acquired');
    return true;
  }

  /** Polls until the lease is ours (or `signal` aborts). */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    while (!this.closed && !signal?.aborted) {
      if (await this.tryAcquire().catch(() => false)) return true;
      await new Promise((resolve) => setTimeout(resolve, acquirePollMs));
    }
    return false;
  }

  /**
   * True while this process may act as leader: it holds the lease and its last renewal was
   * sent recently enough that the server cannot have expired it yet.
   */
  isHeld(): boolean {
    return this.holding && performance.now() - this.lastRenewSentMs < this.ttlMs - leaseSafetyMarginMs;
  }

  /** Deletes the bucket (tests only). */
  async destroy(): Promise<void> {
    await this.kv.destroy().catch(() => false);
  }

  /** The lease term this process holds (0 when it never held one). */
  currentTerm(): number {
    return this.term;
  }

  /** Called once each time the lease is lost (renewal refused, or renewals too late). */
  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(10, Math.floor(this.ttlMs / renewalsPerTtl)));
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (!this.holding || this.closed) return;
    if (!this.isHeld()) {
      // The process was paused or starved past its lease: another holder may exist now.
      this.lose('renewal came too late (process paused or starved)');
      return;
    }
    const sentMs = performance.now();
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify({ holderId: this.holderId, term: this.term, acquiredAtMs: Date.now() } satisfies LeaseHolder), this.revision);
      this.lastRenewSentMs = sentMs;
    } catch (error) {
      // A revision mismatch means someone else holds the lease; a timeout may be transient,
      // so keep trying while the local lease is still valid.
      const message = (error as Error).message ?? String(error);
      if (/wrong last sequence|10071|key exists/i.test(message) || !this.isHeld()) {
        this.lose(`renewal refused: ${message}`);
        return;
      }
      log.warn({ err: error }, 'lease renewal failed; retrying');
    }
    if (this.holding) this.scheduleRenewal();
  }

  private lose(reason: string): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    log.warn({ holderId: this.holderId, term: this.term, reason }, 'lease lost');
    for (const listener of this.lostListeners) listener(reason);
  }

  /** Gives the lease up at once (graceful shutdown), so a standby need not wait for the TTL. */
  async release(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch((error: unknown) => log.warn({ err: error }, 'lease release failed'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.release();
    this.closed = true;
    if (this.ownsConnection) await this.connection.drain().catch(() => undefined);
  }
}
