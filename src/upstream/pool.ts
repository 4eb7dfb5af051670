import type { Logger } from '../util/logger.js';
import type { UpstreamConnection } from './connector.js';
import { mergeParameters, runSimpleQuery } from './simple-query.js';

export interface PoolOptions {
  /** Connections kept open and idle, ready for the next client. */
  min: number;
  /** Idle connections beyond min are closed after this long. */
  idleMs: number;
  /** The reset run before a connection is handed to another session. */
  reset: string;
  /** Most connections open at once (idle, in use, being opened or reset). */
  max: number;
  /** How long a session waits in line for a connection before it is refused. */
  waitTimeoutMs: number;
}

/** Every connection of the pool was busy for the whole wait. */
export class PoolWaitTimeoutError extends Error {
  constructor(
    readonly max: number,
    readonly waitedMs: number,
  ) {
    super(`all ${max} upstream connections stayed busy for ${waitedMs} ms`);
    this.name = 'PoolWaitTimeoutError';
  }
}

/** The waiter gave up (its client cancelled or left); `reason` is what its AbortSignal carried. */
export class PoolWaitAbortedError extends Error {
  constructor(readonly reason: unknown) {
    super('the wait for an upstream connection was abandoned');
    this.name = 'PoolWaitAbortedError';
  }
}

interface Idle {
  up: UpstreamConnection;
  since: number;
  /** Listeners that watch it while idle (removed when it is handed out). */
  onClose: () => void;
  onError: () => void;
  onData: () => void;
}

interface Waiter {
  resolve(got: { up: UpstreamConnection; warm: boolean }): void;
  reject(err: Error): void;
  /** Settled (served, timed out or abandoned): nothing more may happen to it. */
  done: boolean;
}

function unwatch(i: Idle): void {
  i.up.socket.off('close', i.onClose);
  i.up.socket.off('error', i.onError);
  i.up.socket.off('data', i.onData);
  // Whatever arrives from here on belongs to the next reader (the relay or a SET).
  i.up.socket.pause();
}

/**
 * Pre-authenticated upstream connections for one (target, role, database, startup
 * settings). Each is reset (DISCARD ALL by default) before it serves another session, so
 * no session state crosses from one identity to the next; the pool refills in the
 * background so a new client skips Postgres's backend start and upstream TLS and SCRAM.
 *
 * At most `max` connections exist at once. When all are busy, sessions wait in one FIFO
 * line (PgBouncer's find_server / launch_new_connection): a connection that comes back
 * clean goes to the first in line, a slot freed by a broken one is dialled for the first in
 * line. A wait ends after waitTimeoutMs, or when its AbortSignal fires.
 */
export class UpstreamPool {
  private readonly idle: Idle[] = [];
  private readonly waiters: Waiter[] = [];
  /** Background connects that keep `min` idle. */
  private filling = 0;
  /** Connects for a session that found no idle connection, or for those in line. */
  private dialing = 0;
  /** Of those, the connects for sessions in line (at most one per waiter). */
  private lineDials = 0;
  /** Handed to a session and not yet back (including while being reset). */
  private inUse = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  /** Connections handed out, ever (for tests and metrics). */
  handedOut = 0;
  /** Connections opened, ever. */
  opened = 0;
  /**
   * What a connection of this pool reported after a session's settings were applied, by
   * those settings: what a session that gets its connection later is told at login.
   */
  private readonly reportedBySettings = new Map<string, Array<[string, string]>>();

  constructor(
    private readonly connect: () => Promise<UpstreamConnection>,
    private readonly opts: PoolOptions,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(opts.idleMs, 30_000)));
    this.sweeper.unref();
    this.refill();
  }

  /** Idle connections. */
  get size(): number {
    return this.idle.length;
  }

  /** Connections that exist or are being opened: never more than max. */
  get total(): number {
    return this.idle.length + this.filling + this.dialing + this.inUse;
  }

  /** Sessions waiting in line. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** ParameterStatus values last seen for these settings, or null if never seen. */
  reported(settingsKey: string): Array<[string, string]> | null {
    return this.reportedBySettings.get(settingsKey) ?? null;
  }

  remember(settingsKey: string, parameters: Array<[string, string]>): void {
    // Bounded: settings keys come from clients (application_name varies).
    if (this.reportedBySettings.size >= 256 && !this.reportedBySettings.has(settingsKey)) {
      this.reportedBySettings.delete(this.reportedBySettings.keys().next().value as string);
    }
    this.reportedBySettings.set(settingsKey, parameters.map(([k, v]) => [k, v]));
  }

  /**
   * A ready connection: an idle one if there is one, else a new one if below max, else the
   * first one freed after everyone ahead in line. `signal` abandons a wait in line (a dial
   * already under way for this caller completes: the caller gets the connection).
   */
  async acquire(signal?: AbortSignal): Promise<{ up: UpstreamConnection; warm: boolean }> {
    if (signal?.aborted) throw new PoolWaitAbortedError(signal.reason);
    for (;;) {
      const next = this.idle.pop();
      if (!next) break;
      unwatch(next);
      if (next.up.socket.destroyed || !next.up.socket.writable) continue;
      this.inUse++;
      this.handedOut++;
      this.refill();
      return { up: next.up, warm: true };
    }
    if (this.closed || this.total < this.opts.max) {
      this.refill();
      this.dialing++;
      let up: UpstreamConnection;
      try {
        up = await this.connect();
      } finally {
        this.dialing--;
      }
      this.opened++;
      this.inUse++;
      this.handedOut++;
      return { up, warm: false };
    }
    return this.wait(signal);
  }

  private wait(signal: AbortSignal | undefined): Promise<{ up: UpstreamConnection; warm: boolean }> {
    return new Promise((resolve, reject) => {
      const startedAt = Date.now();
      const settle = (): void => {
        waiter.done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        done: false,
        resolve: (got) => {
          settle();
          resolve(got);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      const onAbort = (): void => waiter.reject(new PoolWaitAbortedError(signal?.reason));
      const timer = setTimeout(() => waiter.reject(new PoolWaitTimeoutError(this.opts.max, Date.now() - startedAt)), this.opts.waitTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A session is over: reset the connection and keep it, or close it if it cannot be trusted clean. */
  release(up: UpstreamConnection, reusable: boolean): void {
    if (!reusable || this.closed || up.socket.destroyed) {
      this.inUse--;
      up.socket.destroy();
      this.serveWaiters();
      return;
    }
    void runSimpleQuery(up, this.opts.reset)
      .then(({ status, parameters }) => {
        if (status !== 'I' || this.closed) throw new Error(`connection not idle after reset (${status})`);
        up.parameters = mergeParameters(up.parameters, parameters);
        this.inUse--;
        this.offer(up);
      })
      .catch((err: unknown) => {
        this.log.debug({ event: 'pool_reset_failed', err: (err as Error).message }, 'upstream connection closed instead of reused');
        this.inUse--;
        up.socket.destroy();
        this.serveWaiters();
      });
  }

  /** A clean connection: to the first in line, else idle. */
  private offer(up: UpstreamConnection): void {
    if (this.closed || up.socket.destroyed) {
      up.socket.destroy();
      return;
    }
    const first = this.waiters[0];
    if (first) {
      this.inUse++;
      this.handedOut++;
      first.resolve({ up, warm: true });
      return;
    }
    this.keep(up);
  }

  /** Slots freed (a connection closed): dial for the first in line while below max. */
  private serveWaiters(): void {
    while (!this.closed && this.waiters.length > this.lineDials && this.total < this.opts.max) this.dialForLine();
  }

  private dialForLine(): void {
    this.dialing++;
    this.lineDials++;
    this.connect()
      .then((up) => {
        this.opened++;
        this.dialing--;
        this.lineDials--;
        this.offer(up);
      })
      .catch((err: unknown) => {
        this.dialing--;
        this.lineDials--;
        // The first in line learns why (as it would have dialling itself); the rest wait on.
        this.waiters[0]?.reject(err instanceof Error ? err : new Error(String(err)));
      });
  }

  private keep(up: UpstreamConnection): void {
    const entry: Idle = {
      up,
      since: Date.now(),
      // Dead while idle: drop it from the pool at once.
      onClose: () => {
        const i = this.idle.indexOf(entry);
        if (i < 0) return;
        this.idle.splice(i, 1);
        this.serveWaiters();
      },
      onError: () => undefined,
      // An idle, reset connection has nothing to say; anything it sends (the FATAL of a
      // server shutting down or restarting) means it must not serve another session.
      onData: () => {
        entry.onClose();
        up.socket.destroy();
      },
    };
    up.socket.once('close', entry.onClose);
    up.socket.on('error', entry.onError);
    up.socket.on('data', entry.onData);
    // A paused socket never reports the server's close: it is read while idle so it does.
    up.socket.resume();
    this.idle.push(entry);
  }

  private refill(): void {
    const min = Math.min(this.opts.min, this.opts.max);
    while (!this.closed && this.idle.length + this.filling < min && this.total < this.opts.max) {
      this.filling++;
      this.connect()
        .then((up) => {
          this.opened++;
          this.filling--;
          this.offer(up);
        })
        .catch((err: unknown) => {
          this.filling--;
          this.log.warn({ event: 'pool_fill_failed', err: (err as Error).message }, 'could not open a pooled upstream connection');
        });
      // One failure must not become a tight loop: the next acquire or sweep tries again.
      break;
    }
  }

  private sweep(): void {
    const now = Date.now();
    while (this.idle.length > this.opts.min && now - this.idle[0]!.since > this.opts.idleMs) {
      const old = this.idle.shift()!;
      unwatch(old);
      old.up.socket.destroy();
    }
    this.refill();
  }

  /**
   * No more reuse (configuration changed, or shutdown): idle connections close, returned
   * ones close, and sessions still in line each get a fresh connection of their own.
   */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const i of this.idle.splice(0)) {
      unwatch(i);
      i.up.socket.destroy();
    }
    for (const w of [...this.waiters]) {
      this.connect().then(
        (up) => {
          if (w.done) return void up.socket.destroy();
          this.inUse++;
          this.handedOut++;
          w.resolve({ up, warm: false });
        },
        (err: unknown) => w.reject(err instanceof Error ? err : new Error(String(err))),
      );
    }
  }
}
