import type { BlockVerdict, PreparedStatement, RelayObserver } from './observer.js';

/**
 * What the relay asks of a session's data masking (src/mask implements it; a session
 * without masking rules has none, and its relay looks at no row). Called synchronously, in
 * stream order, like the observer.
 */
export interface RelayMasker {
  /**
   * Before a Query or Parse text is decided: null to go on, or a promise while what it needs
   * is read (the upstream catalogue); the relay holds the frame and what follows meanwhile.
   */
  prepare(sql: string): Promise<void> | null;
  /** A Query or Parse about to go upstream (sql null: unreadable). A verdict refuses it. */
  statement(kind: 'Q' | 'P', sql: string | null, name: string): BlockVerdict | null;
  /** A ParameterStatus from the server (server_version decides which grammar reads statements). */
  setting(name: string, value: string): void;
  /** Bind, Describe, Execute, Close and Sync as they go upstream: they say which result is which. */
  clientFrame(type: number, body: Buffer): void;
  /** Whether an upstream frame of this type must be seen whole now (rows only while a result masks something). */
  wantsBody(type: number): boolean;
  /**
   * An upstream frame (body null when not asked for): a whole replacement frame, null to
   * forward it, or 'end' when it cannot be passed on safely (the session ends).
   */
  serverFrame(type: number, body: Buffer | null): Buffer | null | 'end';
  /** At each ReadyForQuery: which columns (or recognisers) were masked in the cycle, and how many values. */
  cycleDone(): Record<string, number> | null;
}

/**
 * The observer a masked session's relay runs with: the masker decides first (it may refuse a
 * statement), then the session's own observer, if any. A FunctionCall's result cannot be
 * read as rows, so a masked session refuses it.
 */
export function maskingObserver(inner: RelayObserver | null, masker: RelayMasker): RelayObserver {
  return {
    statement(kind, sql, name, oid, unreadable, call) {
      if (kind === 'F')
        return {
          action: 'block',
          code: '42501',
          message: 'function calls by OID (FunctionCall) are refused in a masked session',
        };
      const refused = masker.statement(kind, sql, name);
      if (refused) return refused;
      return inner ? inner.statement(kind, sql, name, oid, unreadable, call) : null;
    },
    prepare(sql) {
      const mine = masker.prepare(sql);
      const theirs = inner?.prepare?.(sql) ?? null;
      if (!mine && !theirs) return null;
      const done = (): null => null;
      return Promise.all([mine, theirs]).then(([, prepared]): PreparedStatement => prepared ?? done);
    },
    setting(name, value) {
      masker.setting(name, value);
      inner?.setting?.(name, value);
    },
    bind(statement, body) {
      return inner ? inner.bind(statement, body) : null;
    },
    mustWait() {
      return inner?.mustWait?.() ?? false;
    },
    sync() {
      inner?.sync();
    },
    ready(r) {
      inner?.ready(r);
    },
  };
}
