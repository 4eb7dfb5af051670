import type { CycleResult, PreparedStatement, RelayObserver, StatementVerdict } from '../relay/observer.js';

/** Named prepared statements remembered for showing what a Bind runs (an ORM may prepare thousands). */
const REMEMBERED_NAMES = 200;

export type TransactionState = 'idle' | 'in transaction' | 'failed';

/**
 * What a session is doing now, for the live sessions page: the statement running and since
 * when, the transaction state from the last ReadyForQuery, statements so far. It sits between
 * the relay and the session's monitor, forwarding every call unchanged (verdicts included),
 * so it is only ever installed where the session already has an observer: a session without
 * one keeps the relay's unobserved fast path.
 */
export class LiveActivity implements RelayObserver {
  /** The statement sent and not yet answered by ReadyForQuery (as sent: the page shows it as the audit would), or null when idle. */
  current: string | null = null;
  /** When the current statement (or extended-protocol cycle) was sent. */
  since: Date | null = null;
  transaction: TransactionState = 'idle';
  statements = 0;
  private readonly named = new Map<string, string>();

  prepare?: (sql: string) => Promise<PreparedStatement> | null;
  setting?: (name: string, value: string) => void;
  mustWait?: () => boolean;

  constructor(private readonly inner: RelayObserver) {
    // Only what the monitor has: the relay checks for these methods' presence.
    if (inner.prepare) this.prepare = (sql) => inner.prepare!(sql);
    if (inner.setting) this.setting = (name, value) => inner.setting!(name, value);
    if (inner.mustWait) this.mustWait = () => inner.mustWait!();
  }

  statement(
    kind: 'Q' | 'P' | 'F',
    sql: string | null,
    name: string,
    oid?: number,
    unreadable?: string,
    call?: Buffer,
  ): StatementVerdict | null {
    if (kind === 'Q') this.running(sql ?? '(unreadable statement)');
    else if (kind === 'F') this.running(`(function call, oid ${oid ?? 0})`);
    else if (sql !== null) this.remember(name, sql);
    return this.inner.statement(kind, sql, name, oid, unreadable, call);
  }

  bind(statement: string, body: Buffer): StatementVerdict | null | void {
    this.running(this.named.get(statement) ?? '(prepared statement)');
    return this.inner.bind(statement, body);
  }

  sync(): void {
    this.inner.sync();
  }

  ready(r: CycleResult): void {
    this.current = null;
    this.since = null;
    this.transaction = r.status === 'T' ? 'in transaction' : r.status === 'E' ? 'failed' : 'idle';
    this.inner.ready(r);
  }

  private running(sql: string): void {
    this.statements++;
    // The first statement of a cycle gives its start; pipelined ones after it belong to it.
    if (this.current === null) this.since = new Date();
    this.current = sql;
  }

  private remember(name: string, sql: string): void {
    if (this.named.size >= REMEMBERED_NAMES && !this.named.has(name)) {
      const oldest = this.named.keys().next().value;
      if (oldest !== undefined) this.named.delete(oldest);
    }
    this.named.set(name, sql);
  }
}

/** Fails to compile when the observer interface grows a method this class does not forward. */
type Unforwarded = Exclude<keyof RelayObserver, keyof LiveActivity>;
export const FORWARDS_EVERY_OBSERVER_METHOD: [Unforwarded] extends [never] ? true : never = true;
