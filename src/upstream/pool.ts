import type { Logger } from '../util/logger.js';
import type { BackendState } from './backend-state.js';
import type { UpstreamConnection } from './connector.js';
import { UpstreamError } from './errors.js';
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
  /**
   * Reads a backend's session state, after `before` when given, in one round trip: once when
   * the connection is opened and again with the reset at every release. A connection whose
   * state after the reset is not the state it was opened with is closed, not reused.
   * Absent: only the reset runs.
   */
  readState?: ((up: UpstreamConnection, before?: string) => Promise<BackendState>) | undefined;
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

/**
 * Which pool handed a connection out. A session keeps the pool it was planned with, but
 * gets its connection from whatever pool has its key at its first message (the planned one
 * may have been closed meanwhile): the connection goes back to the pool that lent it.
 */
const owners = new WeakMap<UpstreamConnection, UpstreamPool>();

function unwatch(i: Idle): void {
  i.up.socket.off('close', i.onClose);
  i.up.socket.off('error', i.onError);
  i.up.socket.off('data', i.onData);
  // Whatever arrives from here on belongs to the next reader (the relay or a SET).
  i.up.socket.pause();
}

/**
 * Pre-authenticated upstream connections for one (target, role, database, read-only,
 * startup settings), each opened with those settings as startup parameters. Each is reset
 * (DISCARD ALL by default) before it serves another session, which returns it to its
 * connection-time state, so no session state crosses from one session to the next; a
 * backend the reset cannot return there (a temp namespace, a library loaded) is closed.
 * Once a pool is used a second time it keeps `min` idle, refilled in the background, so a
 * new client skips Postgres's backend start and upstream TLS and SCRAM; a settings
 * combination used once opens nothing ahead of time.
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
  /** What the last connection opened reported at startup: what every reset connection reports. */
  private startupParameters: Array<[string, string]> | null = null;
  /** What readState saw when each connection was opened (absent: unknown, not reused). */
  private readonly openedState = new WeakMap<UpstreamConnection, BackendState>();
  /** When a session last took or gave back a connection. */
  private lastActive = Date.now();
  /** Used more than once: worth keeping min connections warm. */
  private warm = false;

  constructor(
    private readonly connect: () => Promise<UpstreamConnection>,
    private readonly opts: PoolOptions,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(opts.idleMs, 30_000)));
    this.sweeper.unref();
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

  /**
   * What a connection of this pool reports at startup, or null before one was opened: what a
   * session that gets its connection at its first message is told at login. A reset
   * connection reports the same, since the relay records every ParameterStatus it passes on
   * and the reset's own.
   */
  reported(): Array<[string, string]> | null {
    return this.startupParameters?.map(([k, v]): [string, string] => [k, v]) ?? null;
  }

  /** Nothing handed out, nobody waiting, nothing being opened: for how long (0 when busy). */
  restingFor(now = Date.now()): number {
    if (this.inUse + this.dialing + this.filling + this.waiters.length > 0) return 0;
    return Math.max(1, now - this.lastActive);
  }

  /** Opens a connection and reads the state a reset must return it to. */
  private async open(): Promise<UpstreamConnection> {
    const up = await this.connect();
    this.opened++;
    this.startupParameters = up.parameters.map(([k, v]): [string, string] => [k, v]);
    // Bytes already read past its ReadyForQuery belong to the relay first: then state unknown.
    if (this.opts.readState && up.leftover.length === 0) {
      try {
        this.openedState.set(up, await this.opts.readState(up));
      } catch (err) {
        const reason = (err as Error).message;
        // A stream that broke (an invalid message, a close) cannot serve a session either.
        if (up.socket.destroyed)
          throw new UpstreamError('protocol', `upstream failed the session-state query: ${reason}`, undefined, {
            cause: err,
          });
        // An SQL error: the session may still use it; it just will not be reused.
        this.log.debug({ event: 'pool_state_unread', err: reason }, 'upstream connection state unknown: not reused');
      }
    }
    return up;
  }

  /**
   * A ready connection: an idle one if there is one, else a new one if below max, else the
   * first one freed after everyone ahead in line. `signal` abandons a wait in line (a dial
   * already under way for this caller completes: the caller gets the connection).
   */
  async acquire(signal?: AbortSignal): Promise<{ up: UpstreamConnection; warm: boolean }> {
    if (signal?.aborted) throw new PoolWaitAbortedError(signal.reason);
    this.lastActive = Date.now();
    if (this.handedOut > 0) this.warm = true;
    for (;;) {
      const next = this.idle.pop();
      if (!next) break;
      unwatch(next);
      if (next.up.socket.destroyed || !next.up.socket.writable) continue;
      this.inUse++;
      this.handedOut++;
      owners.set(next.up, this);
      this.refill();
      return { up: next.up, warm: true };
    }
    if (this.closed || this.total < this.opts.max) {
      this.refill();
      this.dialing++;
      let up: UpstreamConnection;
      try {
        up = await this.open();
      } finally {
        this.dialing--;
      }
      this.inUse++;
      this.handedOut++;
      owners.set(up, this);
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
      const timer = setTimeout(
        () => waiter.reject(new PoolWaitTimeoutError(this.opts.max, Date.now() - startedAt)),
        this.opts.waitTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A session is over: reset the connection and keep it, or close it if it cannot be trusted clean. */
  release(up: UpstreamConnection, reusable: boolean): void {
    const owner = owners.get(up);
    if (owner && owner !== this) return owner.release(up, reusable);
    owners.delete(up);
    this.lastActive = Date.now();
    const opened = this.openedState.get(up);
    if (!reusable || this.closed || up.socket.destroyed || (this.opts.readState && !opened)) {
      this.inUse--;
      up.socket.destroy();
      this.serveWaiters();
      return;
    }
    void this.reset(up, opened)
      .then(() => {
        if (this.closed) throw new Error('pool closed');
        this.inUse--;
        this.offer(up);
      })
      .catch((err: unknown) => {
        this.log.debug(
          { event: 'pool_reset_failed', err: (err as Error).message },
          'upstream connection closed instead of reused',
        );
        this.inUse--;
        up.socket.destroy();
        this.serveWaiters();
      });
  }

  /** Runs the reset (with the state check when there is one); rejects when the connection must not be reused. */
  private async reset(up: UpstreamConnection, opened: BackendState | undefined): Promise<void> {
    if (!this.opts.readState || !opened) {
      const { status, parameters } = await runSimpleQuery(up, this.opts.reset);
      if (status !== 'I') throw new Error(`connection not idle after reset (${status})`);
      up.parameters = mergeParameters(up.parameters, parameters);
      return;
    }
    const now = await this.opts.readState(up, this.opts.reset);
    if (now.status !== 'I') throw new Error(`connection not idle after reset (${now.status})`);
    up.parameters = mergeParameters(up.parameters, now.parameters);
    if (now.tempNamespace && !opened.tempNamespace) throw new Error('the backend made a temp namespace');
    if (now.customSettings !== opened.customSettings)
      throw new Error('the backend loaded a library (its custom settings changed)');
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
      owners.set(up, this);
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
    this.open()
      .then((up) => {
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
    if (!this.warm) return;
    const min = Math.min(this.opts.min, this.opts.max);
    while (!this.closed && this.idle.length + this.filling < min && this.total < this.opts.max) {
      this.filling++;
      this.open()
        .then((up) => {
          this.filling--;
          this.offer(up);
          this.refill();
        })
        .catch((err: unknown) => {
          this.filling--;
          this.log.warn(
            { event: 'pool_fill_failed', err: (err as Error).message },
            'could not open a pooled upstream connection',
          );
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
      this.open().then(
        (up) => {
          if (w.done) return void up.socket.destroy();
          this.inUse++;
          this.handedOut++;
          owners.set(up, this);
          w.resolve({ up, warm: false });
        },
        (err: unknown) => w.reject(err instanceof Error ? err : new Error(String(err))),
      );
    }
  }
}
