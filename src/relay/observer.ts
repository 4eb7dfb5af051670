/** What the relay tells whoever watches a session, and what it may be told to do. */

export interface BlockVerdict {
  action: 'block';
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
  /** 1-based character position in the statement text the error points at (a syntax error's P field). */
  position?: number | undefined;
}

export interface EndVerdict {
  action: 'end';
  message: string;
}

export type StatementVerdict = BlockVerdict | EndVerdict;

/**
 * What a `prepare` resolves to, called right before the statement is shown to `statement`:
 * it hands in what was worked out (null), or says why the text could not be (the relay then
 * shows the statement as unreadable, with that reason).
 */
export type PreparedStatement = () => string | null;

export interface CycleResult {
  /** DataRows and bytes sent to the client since the previous ReadyForQuery. */
  rows: number;
  bytes: number;
  /** SQLSTATE of the first error in the cycle, or null. */
  error: string | null;
  /** That error's message (its M field), or null; the monitor keeps it only where the profile logs values. */
  errorMessage?: string | null;
  /** Transaction status from ReadyForQuery: I, T or E. */
  status: string;
  /** Masked sessions: values masked in the cycle, per column (schema.table.column) or recogniser; null when none. */
  masked?: Record<string, number> | null;
}

/**
 * Called synchronously from the relay, in stream order. Only Query, Parse, Bind and
 * FunctionCall bodies are shown (the relay holds just those frames while observed).
 */
export interface RelayObserver {
  /**
   * kind Q (Query), P (Parse), F (FunctionCall: sql is null, oid given, and `call` the
   * whole FunctionCall body, so its arguments can be read). For Q and P, sql is null when
   * the text cannot be read as the server will read it (`unreadable` says why); such a
   * statement must be blocked. Return a verdict to stop it.
   */
  statement(
    kind: 'Q' | 'P' | 'F',
    sql: string | null,
    name: string,
    oid?: number,
    unreadable?: string,
    call?: Buffer,
  ): StatementVerdict | null;
  /**
   * Before `statement`, for a Query or Parse text it will be shown: null to go on now, or a
   * promise while the text is worked out elsewhere (one too large to parse on the event
   * loop). The relay then holds that frame and everything after it from the client, in
   * order, and decides it again once the promise settles.
   */
  prepare?(sql: string): Promise<PreparedStatement> | null;
  /** A ParameterStatus from the server (settings that change how SQL text is lexed among them). */
  setting?(name: string, value: string): void;
  /**
   * Bind of a prepared statement (by name; '' is the unnamed one); body is the whole Bind
   * message. A verdict stops it (the prepared statement was allowed, running it here is not).
   */
  bind(statement: string, body: Buffer): StatementVerdict | null | void;
  /**
   * Whether client statements must wait until every cycle sent so far is answered (the relay
   * holds them, in order, and shows them again then): what the server reports with those
   * answers may change how they are judged (a read-only session's switch).
   */
  mustWait?(): boolean;
  /** Sync: the end of an extended-protocol batch. */
  sync(): void;
  /** ReadyForQuery came back. */
  ready(r: CycleResult): void;
}
