import { randomBytes } from 'node:crypto';
import { parseFields } from '../protocol/backend-messages.js';
import { errorResponse } from '../protocol/backend-writer.js';
import { ClientText } from '../protocol/client-text.js';
import { Fe } from '../protocol/constants.js';
import { parseMessage, queryMessage, rebindMessage, statementText } from '../protocol/frontend-writer.js';
import type { BlockVerdict, PreparedStatement, RelayObserver } from './observer.js';

/**
 * Blocks a statement without taking the protocol out of step. The blocked Query, Parse or
 * FunctionCall is replaced by one Postgres rejects at once as a syntax error naming a
 * one-time marker, so Postgres itself does everything that follows an error exactly as it
 * would for the original: the extended protocol's skip to Sync, ReadyForQuery with the
 * right transaction status, a failed transaction block when inside one. Only that error is
 * swapped for ours on the way back; nothing of the blocked statement reaches the server.
 */
/** Text that may change how the server reads the next statements (client_encoding, escapes). */
const LEXER_SETTINGS = /client_encoding|standard_conforming_strings|\bnames\b|\b(?:reset|discard)\s+all\b/i;
const SET_CONFIG = /set_config/gi;
/** set_config called with a plain literal as the setting's name: which setting it is can be read. */
const SET_CONFIG_NAMED = /set_config"?\s*\(\s*'[^'\\]*'\s*,/iy;

/**
 * Whether a statement may change how the server reads the statements after it. Any mention
 * of the two settings, SET NAMES, RESET ALL or DISCARD ALL counts; set_config counts unless
 * every call names its setting with a plain literal (which then is not one of the two, or
 * the first test caught it): `set_config('app.tenant', ...)` changes nothing of the lexer.
 */
export function mayChangeLexing(sql: string): boolean {
  if (LEXER_SETTINGS.test(sql)) return true;
  for (const m of sql.matchAll(SET_CONFIG)) {
    SET_CONFIG_NAMED.lastIndex = m.index;
    if (!SET_CONFIG_NAMED.test(sql)) return true;
  }
  return false;
}
/**
 * What reads differently in another encoding or with backslash escapes on: a backslash or
 * anything outside ASCII. A string is pure ASCII exactly when its UTF-8 length is its
 * length, which Node counts natively: a regular expression took 22 ms over 10 MB.
 */
function encodingSensitive(sql: string): boolean {
  return sql.includes('\\') || Buffer.byteLength(sql, 'utf8') !== sql.length;
}

/**
 * Work on a large held text, one piece per turn of the event loop: immediates queued in one
 * turn all run back to back, so each piece queues the next from its own turn and other
 * sessions' I/O runs between them (10 MB: 3-20 ms a piece, one after another 60 ms).
 */
const turns: Array<() => void> = [];

export function inTurn(piece: () => void): void {
  turns.push(piece);
  if (turns.length === 1) setImmediate(nextTurn);
}

function nextTurn(): void {
  try {
    turns.shift()?.();
  } finally {
    if (turns.length > 0) setImmediate(nextTurn);
  }
}

/** A statement held while its text is worked out elsewhere (RelayObserver.prepare). */
interface Preparing {
  /** The frame's body length and decoded text: the frame is not decoded a second time. */
  bodyLength: number;
  sensitive: boolean;
  statement: string;
  sql: string;
  /** Whether it may change how text is read, worked out in a turn of its own while it waits. */
  changesLexing: boolean | null;
  /** What the promise resolved to; null while it is pending. */
  prepared: PreparedStatement | null;
  settled: Promise<void>;
}

export class StatementBlocker {
  /** Markers of blocked statements whose errors have not come back yet, with our error. */
  private waiting: Map<string, Buffer> | null = null;
  /** The session's client_encoding, as the server last reported it. */
  readonly text = new ClientText();
  /**
   * Cycles in flight (one per Query or Sync), each true if it may change how text is read:
   * until its ReadyForQuery, statements that read differently in another encoding or with
   * backslash escapes cannot be inspected with certainty.
   */
  private readonly cycles: boolean[] = [];
  private cycleChanges = false;
  /** Prepared statements whose text may change how text is read (their Binds count too). */
  private changingStatements: Set<string> | null = null;
  /** The held statement being worked out elsewhere; it is the next Query or Parse decided. */
  private preparing: Preparing | null = null;
  /** The held frame waits for every cycle in flight to be answered (RelayObserver.mustWait). */
  private waitingForAll = false;

  /**
   * Settles when the statement held for RelayObserver.prepare may be decided again (null when
   * none is): the relay then releases what it holds.
   */
  get inspection(): Promise<void> | null {
    return this.preparing?.prepared === null ? this.preparing.settled : null;
  }

  /**
   * A held client frame: the bytes to send instead, 'end' to drop it (session ending), null to
   * forward it, or 'hold': it cannot be read until the server has answered earlier cycles that
   * may change how text is read, so the relay keeps it (and everything after it) and shows it
   * again once canRelease(). Nothing about a held frame is recorded here.
   */
  onClientFrame(type: number, body: Buffer, observer: RelayObserver): Buffer | 'end' | 'hold' | null {
    let verdict;
    let statement = '';
    this.waitingForAll = false;
    if (this.cycles.length > 0 && observer.mustWait?.()) {
      this.waitingForAll = true;
      return 'hold';
    }
    if (type === Fe.Bind) {
      const portalEnd = body.indexOf(0);
      const stmtEnd = portalEnd < 0 ? -1 : body.indexOf(0, portalEnd + 1);
      if (stmtEnd <= portalEnd) return null;
      const name = this.text.decode(body, portalEnd + 1, stmtEnd) ?? body.toString('latin1', portalEnd + 1, stmtEnd);
      if (this.changingStatements?.has(name)) this.cycleChanges = true;
      const refused = observer.bind(name, body);
      if (!refused) return null;
      if (refused.action === 'end') return 'end';
      // Bound to a statement that does not exist: Postgres refuses it and skips to Sync.
      return rebindMessage(body, this.remember(refused));
    }
    if (type === Fe.FunctionCall) {
      // A function called by OID may be set_config: treat it as changing how text is read.
      this.cycleChanges = true;
      verdict = observer.statement('F', null, '', body.length >= 4 ? body.readUInt32BE(0) : 0, undefined, body);
      this.endCycle();
    } else {
      const kind = type === Fe.Query ? 'Q' : 'P';
      // The statement held for prepare is the first frame decided when the relay releases.
      if (this.preparing?.prepared === null) return 'hold';
      const held = this.preparing?.bodyLength === body.length ? this.preparing : null;
      this.preparing = null;
      // Its text was read when it was held: a large frame is not decoded twice.
      const text = held ? { statement: held.statement, sql: held.sql } : statementText(kind, body, this.text);
      if (!text) {
        if (kind === 'Q') this.endCycle();
        return null; // malformed: Postgres answers it (with a ReadyForQuery for a Query)
      }
      statement = text.statement;
      // Read once: the held statement's answer cannot have changed (nothing was decided since).
      const sensitive = held ? held.sensitive : text.sql === null || encodingSensitive(text.sql);
      // Only earlier cycles may change how it reads: their ReadyForQuery will say how.
      if (!held && sensitive && !this.cycleChanges && this.cycles.includes(true)) return 'hold';
      let unreadable: string | undefined;
      if (text.sql === null) {
        unreadable = `pgward cannot read this statement in client_encoding ${this.text.encoding}`;
      } else if (sensitive && this.cycleChanges) {
        // In the same cycle as the change: the server reports it only at that cycle's end.
        unreadable =
          'statement sent in the same pipeline step (before Sync) as a change of client_encoding or standard_conforming_strings';
      }
      if (held?.prepared) {
        unreadable = held.prepared() ?? unreadable;
      } else if (!unreadable && text.sql !== null && observer.prepare) {
        const pending = observer.prepare(text.sql);
        if (pending) {
          // Too large to work out here: held, with everything after it, until it is worked out.
          const p: Preparing = {
            bodyLength: body.length,
            sensitive,
            statement: text.statement,
            sql: text.sql,
            changesLexing: null,
            prepared: null,
            settled: pending.then(
              (prepared) => void (p.prepared = prepared),
              () => void (p.prepared = () => 'pgward could not inspect this statement'),
            ),
          };
          this.preparing = p;
          // Each pass over a large text costs the event loop (2-25 ms for 10 MB): not all in one turn.
          inTurn(() => (p.changesLexing ??= mayChangeLexing(p.sql)));
          return 'hold';
        }
      }
      if (text.sql !== null && (held?.changesLexing ?? mayChangeLexing(text.sql))) {
        this.cycleChanges = true;
        if (kind === 'P') (this.changingStatements ??= new Set()).add(text.statement);
      }
      verdict = observer.statement(kind, unreadable ? null : text.sql, text.statement, undefined, unreadable);
      if (kind === 'Q') this.endCycle();
    }
    if (!verdict) return null;
    if (verdict.action === 'end') return 'end';
    const marker = this.remember(verdict);
    return type === Fe.Parse ? parseMessage(statement, marker) : queryMessage(marker);
  }

  /** A one-time marker for a blocked step, with the error the client gets when Postgres refuses it. */
  private remember(verdict: BlockVerdict): string {
    const marker = `pgward_blocked_${randomBytes(8).toString('hex')}`;
    (this.waiting ??= new Map()).set(
      marker,
      errorResponse({
        severity: 'ERROR',
        code: verdict.code,
        message: verdict.message,
        detail: verdict.detail,
        hint: verdict.hint,
        position: verdict.position,
      }),
    );
    return marker;
  }

  /** Sync ends an extended-protocol cycle. */
  onSync(): void {
    this.endCycle();
  }

  /** ReadyForQuery: the oldest cycle in flight is done, and any setting it changed has been reported. */
  onReady(): void {
    this.cycles.shift();
  }

  private endCycle(): void {
    this.cycles.push(this.cycleChanges);
    this.cycleChanges = false;
  }

  /** No cycle in flight may change how text is read: a held statement can be read now. */
  canRelease(): boolean {
    if (this.waitingForAll) return this.cycles.length === 0;
    return !this.cycles.includes(true);
  }

  /** An ErrorResponse from upstream: its SQLSTATE, and our error instead if it answers a blocked statement. */
  onUpstreamError(body: Buffer): { ours: Buffer | null; code: string | null; message: string | null } {
    let fields;
    try {
      fields = parseFields(body);
    } catch {
      return { ours: null, code: null, message: null };
    }
    if (!this.waiting || this.waiting.size === 0) return { ours: null, code: fields.code, message: fields.message };
    const marker = /pgward_blocked_[0-9a-f]{16}/.exec(fields.message)?.[0];
    const ours = marker ? this.waiting.get(marker) : undefined;
    if (!marker || !ours) return { ours: null, code: fields.code, message: fields.message };
    this.waiting.delete(marker);
    return { ours, code: 'blocked', message: null };
  }
}
