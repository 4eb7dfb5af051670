import { SocketMessageReader } from '../net/socket-reader.js';
import { parseFields } from '../protocol/backend-messages.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { queryMessage } from '../protocol/frontend-writer.js';
import { backendLimits } from '../protocol/limits.js';
import type { Logger } from '../util/logger.js';
import type { UpstreamConnection } from './connector.js';

export class UpstreamQueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamQueryError';
  }
}

/**
 * Runs one simple-protocol Query on an idle upstream connection outside the relay (pool
 * reset, applying settings) and collects ParameterStatus changes. Resolves at ReadyForQuery.
 */
export async function runSimpleQuery(up: UpstreamConnection, sql: string, timeoutMs = 5_000): Promise<{ parameters: Array<[string, string]>; status: string }> {
  const reader = new SocketMessageReader(up.socket, new FrameReader(backendLimits(1 << 20), 'backend'));
  // Destroyed without an error object: an 'error' event here would have no listener.
  const timer = setTimeout(() => up.socket.destroy(), timeoutMs);
  try {
    up.socket.write(queryMessage(sql));
    const parameters: Array<[string, string]> = [];
    let error: UpstreamQueryError | null = null;
    for (;;) {
      const f = await reader.message();
      const type = String.fromCharCode(f.type);
      if (type === 'S') {
        const nul = f.body.indexOf(0);
        parameters.push([f.body.toString('utf8', 0, nul), f.body.toString('utf8', nul + 1, f.body.length - 1)]);
      } else if (type === 'E') {
        const e = parseFields(f.body);
        error ??= new UpstreamQueryError(e.code, e.message);
      } else if (type === 'Z') {
        if (error) throw error;
        return { parameters, status: String.fromCharCode(f.body[0] ?? 0x49) };
      }
    }
  } finally {
    clearTimeout(timer);
    const rest = reader.release();
    if (rest.length > 0) up.socket.destroy();
  }
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** SET statements for the settings that differ from what the connection reports now. */
export function settingsSql(wanted: ReadonlyArray<readonly [string, string]>, current: ReadonlyArray<readonly [string, string]>): string | null {
  const now = new Map(current.map(([k, v]) => [k.toLowerCase(), v]));
  const sets = wanted.filter(([k, v]) => now.get(k.toLowerCase()) !== v).map(([k, v]) => `SET ${quoteIdent(k)} TO ${quoteLiteral(v)}`);
  return sets.length ? sets.join('; ') : null;
}

export interface PoolOptions {
  /** Connections kept open and idle, ready for the next client. */
  min: number;
  /** Idle connections beyond min are closed after this long. */
  idleMs: number;
  /** The reset run before a connection is handed to another session. */
  reset: string;
}

interface Idle {
  up: UpstreamConnection;
  since: number;
  /** Listeners that watch it while idle (removed when it is handed out). */
  onClose: () => void;
  onError: () => void;
  onData: () => void;
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
 */
export class UpstreamPool {
  private readonly idle: Idle[] = [];
  private filling = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  handedOut = 0;
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

  get size(): number {
    return this.idle.length;
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

  /** A ready connection: an idle one if there is one, else a new one. */
  async acquire(): Promise<{ up: UpstreamConnection; warm: boolean }> {
    for (;;) {
      const next = this.idle.pop();
      if (!next) break;
      unwatch(next);
      if (next.up.socket.destroyed || !next.up.socket.writable) continue;
      this.handedOut++;
      this.refill();
      return { up: next.up, warm: true };
    }
    this.refill();
    const up = await this.connect();
    this.opened++;
    this.handedOut++;
    return { up, warm: false };
  }

  /** A session is over: reset the connection and keep it, or close it if it cannot be trusted clean. */
  release(up: UpstreamConnection, reusable: boolean): void {
    if (!reusable || this.closed || up.socket.destroyed) {
      up.socket.destroy();
      return;
    }
    void runSimpleQuery(up, this.opts.reset)
      .then(({ status, parameters }) => {
        if (status !== 'I' || this.closed) throw new Error(`connection not idle after reset (${status})`);
        up.parameters = mergeParameters(up.parameters, parameters);
        this.keep(up);
      })
      .catch((err: unknown) => {
        this.log.debug({ event: 'pool_reset_failed', err: (err as Error).message }, 'upstream connection closed instead of reused');
        up.socket.destroy();
      });
  }

  private keep(up: UpstreamConnection): void {
    const entry: Idle = {
      up,
      since: Date.now(),
      // Dead while idle: drop it from the pool at once.
      onClose: () => {
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1);
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
    while (!this.closed && this.idle.length + this.filling < this.opts.min) {
      this.filling++;
      this.connect()
        .then((up) => {
          this.opened++;
          if (this.closed) up.socket.destroy();
          else this.keep(up);
        })
        .catch((err: unknown) => this.log.warn({ event: 'pool_fill_failed', err: (err as Error).message }, 'could not open a pooled upstream connection'))
        .finally(() => this.filling--);
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

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const i of this.idle.splice(0)) {
      unwatch(i);
      i.up.socket.destroy();
    }
  }
}

export function mergeParameters(base: Array<[string, string]>, changes: Array<[string, string]>): Array<[string, string]> {
  const m = new Map(base);
  for (const [k, v] of changes) m.set(k, v);
  return [...m];
}
