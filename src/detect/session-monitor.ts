import { asStandardConforming } from './escape-strings.js';
import {
  anomalyAction,
  blocksAnything,
  statementAction,
  type AnomalyKind,
  type DetectorProfile,
  type Risk,
  type StatementAction,
} from '../policy/profiles.js';
import type { CycleResult, PreparedStatement, RelayObserver, StatementVerdict } from '../relay/observer.js';
import { parseDuration } from '../util/duration.js';
import { bulkReadThreshold, learnWindow, rememberSource, rememberTable, type BaselineState } from './baseline.js';
import type { StatementInfo, StatementInspector } from './classify.js';
import { judgeFunctionCall, readFunctionCall } from './function-call.js';
import { prepareStatement } from './offthread-inspection.js';
import type { BlockReason, ReadOnlyGuard } from './read-only-guard.js';

/** Where a monitor's findings go; the gateway wires these to the audit chain, store and webhooks. */
export interface MonitorSinks {
  /** Appends an event to this session's hash chain. */
  record(kind: string, payload: Record<string, unknown>): void;
  /** Persists an anomaly (and alerts when the action says so). */
  anomaly(kind: string, severity: 'low' | 'medium' | 'high', action: string, detail: Record<string, unknown>): void;
  /** Ends the session with a FATAL carrying this message. */
  end(message: string): void;
  /** Revokes the session's token everywhere and ends its sessions. */
  revoke(reason: string): void;
}

export interface MonitorOptions {
  inspector: StatementInspector;
  profile: DetectorProfile;
  baseline: BaselineState;
  readOnly: ReadOnlyGuard | null;
  /** The access rule that made the session read-only: its refusals name it in their hint. */
  readOnlyRule?: string | undefined;
  clientAddr: string;
  sinks: MonitorSinks;
  now?: () => number;
  /**
   * What the server reported when the session started (the ParameterStatus values the
   * client was given): server_version picks the grammar, default_transaction_read_only is
   * watched from there on. Later changes arrive through setting().
   */
  server?: ReadonlyArray<readonly [string, string]>;
}

/** The major version in a server_version such as `15.20 (Debian 15.20-0+deb12u1)` or `18beta1`. */
export function majorOf(serverVersion: string): number | undefined {
  const m = /^(\d+)/.exec(serverVersion);
  return m ? Number(m[1]) : undefined;
}

const WRITE_CATEGORIES = new Set(['write', 'ddl', 'dcl']);

interface Executed {
  info: StatementInfo;
  sql: string;
  blocked: string | null;
  /** Bound parameter values, only when the profile logs them. */
  params?: Array<string | null>;
}

/** Text-format values of a Bind message; binary ones are described, not decoded. */
export function bindValues(body: Buffer): Array<string | null> {
  let p = body.indexOf(0) + 1;
  p = body.indexOf(0, p) + 1;
  const nFormats = body.readUInt16BE(p);
  const formats: number[] = [];
  for (let i = 0; i < nFormats; i++) formats.push(body.readUInt16BE(p + 2 + i * 2));
  p += 2 + nFormats * 2;
  const n = body.readUInt16BE(p);
  p += 2;
  const out: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(p);
    p += 4;
    if (len < 0) {
      out.push(null);
      continue;
    }
    const binary = (nFormats === 1 ? formats[0] : formats[i]) === 1;
    out.push(binary ? `<binary, ${len} bytes>` : body.toString('utf8', p, p + len));
    p += len;
  }
  return out;
}

interface Unit {
  statements: Executed[];
  startedAt: number;
}

const STATEMENTS_PER_EVENT = 500;
/** The longest statement text a parameter-logging profile keeps as sent (the default parse budget). */
const MAX_LOGGED_TEXT = 64 * 1024;
/** One run of a batch: which statement(s), rows and bytes returned, duration, ms after the batch start, outcome, SQLSTATE. */
const RUN_COLUMNS = ['statement', 'rows', 'bytes', 'ms', 'offsetMs', 'outcome', 'error', 'params', 'masked', 'message'];
const STATEMENT_EVENT_DELAY_MS = 500;

const SEVERITY: Record<StatementAction, number> = { log: 0, alert: 1, block: 2, 'end-session': 3, 'revoke-token': 4 };

/**
 * Watches one session: classifies each statement (cached), applies the read-only guard and
 * the detector profile's actions, pairs statements with their results at ReadyForQuery,
 * records one chained audit event per executed batch, and compares behaviour with the
 * person's baseline.
 */
export class SessionMonitor implements RelayObserver {
  // Created on first use: an idle session should cost as little as its socket.
  private preparedMap: Map<string, StatementInfo & { sql: string }> | null = null;
  private current: Unit | null = null;
  private readonly units: Unit[] = [];
  private readonly windowMs: number;
  private window = { start: 0, rows: 0, bytes: 0, statements: 0, flagged: false };
  statements = 0;
  anomalies = 0;
  /** Statement records not yet in the chain: grouped so a busy session costs one event per batch. */
  private pending: unknown[][] = [];
  private pendingStatements: Array<Record<string, unknown>> = [];
  private pendingIndexMap: Map<string, number> | null = null;
  private pendingStart = 0;
  /** Tables this session has already checked against the baseline. */
  private knownTablesSet: Set<string> | null = null;
  private pendingTimer: NodeJS.Timeout | null = null;
  /** standard_conforming_strings as the server last reported it (on unless told otherwise). */
  private standardStrings = true;
  /** The upstream's major version (its grammar reads what 18's does not). */
  private major: number | undefined;
  /** The server reports default_transaction_read_only (GUC_REPORT since Postgres 14). */
  private reportsReadOnly = false;
  /** A read-only session's server said default_transaction_read_only is off: it is ending. */
  private lifted = false;
  private readonly now: () => number;

  private get prepared(): Map<string, StatementInfo & { sql: string }> {
    return (this.preparedMap ??= new Map());
  }

  private get pendingIndex(): Map<string, number> {
    return (this.pendingIndexMap ??= new Map());
  }

  private get knownTables(): Set<string> {
    return (this.knownTablesSet ??= new Set());
  }

  constructor(private readonly o: MonitorOptions) {
    this.now = o.now ?? Date.now;
    this.windowMs = parseDuration(o.profile.baseline.window);
    this.window.start = this.now();
    for (const [name, value] of o.server ?? []) this.setting(name, value);
  }

  /** Text no grammar of the upstream reads is refused, not passed, where something is guarded. */
  private get strict(): boolean {
    return this.o.readOnly !== null || blocksAnything(this.o.profile);
  }

  /** At session start: where from and when, against what this person usually does. */
  begin(): void {
    const b = this.o.baseline;
    const established = b.windows >= this.o.profile.baseline.minWindows;
    if (rememberSource(b, this.o.clientAddr) && established) {
      this.raise('new-source', 'medium', { source: this.o.clientAddr });
    }
    const hour = new Date(this.now()).getUTCHours();
    if (established && (b.hours[hour] ?? 0) === 0) this.raise('unusual-hour', 'low', { hourUtc: hour });
  }

  /** A text over the parse budget is classified by a worker (with this upstream's grammar) before it is shown. */
  prepare(sql: string): Promise<PreparedStatement> | null {
    return prepareStatement(sql, {
      inspector: this.o.inspector,
      guard: this.o.readOnly,
      standardStrings: this.standardStrings,
      major: this.major,
    });
  }

  statement(
    kind: 'Q' | 'P' | 'F',
    sql: string | null,
    name: string,
    oid?: number,
    unreadable?: string,
    call?: Buffer,
  ): StatementVerdict | null {
    // The server said read-only is off: nothing more goes upstream (the FATAL is on its way).
    if (this.lifted) return { action: 'end', message: 'read-only-lifted' };
    if (kind !== 'F' && sql === null) return this.refuseUnreadable(kind, unreadable ?? 'statement text cannot be read');
    if (kind === 'F') return this.functionCall(oid ?? 0, call);
    // With standard_conforming_strings off the server reads backslashes in plain literals as
    // escapes: the parser (always on) gets text that means the same to it.
    const lexed = !this.standardStrings ? asStandardConforming(sql!) : sql!;
    const info = this.o.inspector.inspect(lexed, this.major);
    if (info.failure && this.strict) return this.refuseUnparsable(kind, sql!, info);
    const ro = this.o.readOnly ? (this.o.readOnly.check(lexed, this.major) ?? this.writeRefusal(info)) : null;
    return this.decided(kind, name, sql!, info, ro ? this.readOnlyBlock(ro) : this.applyProfile(info));
  }

  /** Records a statement with its verdict (a blocked one too: it still yields a result to pair with). */
  private decided(
    kind: 'Q' | 'P' | 'F',
    name: string,
    text: string,
    info: StatementInfo,
    verdict: StatementVerdict | null,
  ): StatementVerdict | null {
    const executed: Executed = {
      info,
      sql: text,
      blocked: verdict?.action === 'block' ? (verdict.detail ?? verdict.message) : null,
    };
    if (kind === 'P') {
      // Drivers re-Parse the same unnamed statement on every execution: keep the entry.
      const prev = this.prepared.get(name);
      if (!executed.blocked && (prev === undefined || prev.sql !== text))
        this.prepared.set(name, { ...info, sql: text });
      // A blocked Parse still yields a batch result (the error) to pair with.
      if (executed.blocked) this.unit().statements.push(executed);
    } else {
      this.unit().statements.push(executed);
      if (kind === 'Q') this.sync();
    }
    return verdict;
  }

  private readOnlyBlock(r: BlockReason): StatementVerdict {
    return { action: 'block', code: r.code, message: r.message, detail: r.detail, hint: this.readOnlyHint() };
  }

  /** Where the read-only comes from, so the person knows what to ask for. */
  private readOnlyHint(): string | undefined {
    const rule = this.o.readOnlyRule;
    return rule
      ? `The access rule "${rule}" grants this session read-only; write access needs another rule or an access request.`
      : undefined;
  }

  /**
   * A write in a read-only session, refused by pgward itself where the server's read-only
   * cannot be relied on: on a server that does not report default_transaction_read_only
   * (before 14), always; on one that does, while statements sent earlier that could have
   * switched it off (any that runs a function) have not been answered yet, since the
   * report comes with their answer. Elsewhere Postgres refuses writes with its own 25006.
   */
  private writeRefusal(info: StatementInfo): BlockReason | null {
    if (!WRITE_CATEGORIES.has(info.category)) return null;
    const base = { code: '25006', message: 'pgward: this session is read-only' };
    if (!this.reportsReadOnly)
      return {
        ...base,
        detail: `The statement writes (${info.category}); this server does not report default_transaction_read_only (PostgreSQL 13 and older), so pgward refuses writes in read-only sessions itself.`,
      };
    const pending = [...this.units, ...(this.current ? [this.current] : [])];
    const unanswered = pending.some((u) => u.statements.some((s) => !s.blocked && !s.info.inert));
    if (!unanswered) return null;
    return {
      ...base,
      detail:
        'The statement writes and was sent before the server answered earlier statements that may have changed read-only; send it after their results.',
    };
  }

  /** A FunctionCall message, judged by the function its OID names. */
  private functionCall(oid: number, body: Buffer | undefined): StatementVerdict | null {
    const call = readFunctionCall(body, oid, this.major);
    const judged = judgeFunctionCall(call);
    const info: StatementInfo = {
      normalized: judged.normalized,
      category: judged.writes ? 'write' : 'utility',
      tables: [],
      risks: judged.risks,
      count: 1,
    };
    let verdict: StatementVerdict | null;
    if (call.name === null && this.strict) {
      this.flushStatements();
      this.anomalies++;
      this.o.sinks.anomaly('unknown-function-call', 'medium', 'block', { oid });
      verdict = {
        action: 'block',
        code: this.o.readOnly ? '25006' : '42501',
        message: `pgward: FunctionCall refused: function ${oid} is not a built-in function pgward can name`,
        detail:
          "This session's access policy only lets FunctionCall messages call built-in functions; call the function in SQL instead.",
      };
    } else {
      const ro = this.o.readOnly ? (judged.readOnly ? refusalOf(judged.readOnly) : this.writeRefusal(info)) : null;
      verdict = ro ? this.readOnlyBlock(ro) : this.applyProfile(info);
    }
    return this.decided('F', '', info.normalized, info, verdict);
  }

  /**
   * Text that no grammar of the upstream's major reads, where the session is guarded (read
   * only, or a profile that stops anything): refused with the error Postgres would give,
   * since what pgward cannot read it cannot vouch for.
   */
  private refuseUnparsable(kind: 'Q' | 'P', sql: string, info: StatementInfo): StatementVerdict {
    const failure = info.failure!;
    this.flushStatements();
    this.anomalies++;
    this.o.sinks.anomaly('unparsable-statement', 'medium', 'block', {
      message: failure.message,
      position: failure.position,
    });
    const verdict: StatementVerdict = {
      action: 'block',
      code: '42601',
      message: failure.message,
      position: failure.position,
    };
    this.decided(kind, '', sql, { ...info }, { ...verdict, detail: `unparsable: ${failure.message}` });
    return verdict;
  }

  setting(name: string, value: string): void {
    if (name === 'standard_conforming_strings') this.standardStrings = value !== 'off';
    else if (name === 'server_version') this.major = majorOf(value);
    else if (name === 'default_transaction_read_only') {
      this.reportsReadOnly = true;
      if (this.o.readOnly && value !== 'on' && !this.lifted) this.readOnlyLifted(value);
    }
  }

  /**
   * The server reports default_transaction_read_only off in a read-only session: whatever
   * switched it (a function calling set_config, anything the statement check could not
   * see), the session ends now, with an anomaly. Its upstream connection is closed, not
   * pooled: it ends by the detector, never by the client.
   */
  private readOnlyLifted(value: string): void {
    this.lifted = true;
    this.flushStatements();
    this.anomalies++;
    this.o.sinks.anomaly('read-only-lifted', 'high', 'end-session', { reported: value });
    queueMicrotask(() =>
      this.o.sinks.end(
        'terminating connection: the server reported default_transaction_read_only = off in a read-only session',
      ),
    );
  }

  /** Text pgward cannot read as the server will is never forwarded: blocked, recorded, flagged. */
  private refuseUnreadable(kind: 'Q' | 'P', reason: string): StatementVerdict {
    const info: StatementInfo = { normalized: '(unreadable)', category: 'invalid', tables: [], risks: [], count: 0 };
    this.unit().statements.push({ info, sql: '(unreadable)', blocked: reason });
    if (kind === 'Q') this.sync();
    this.flushStatements();
    this.anomalies++;
    this.o.sinks.anomaly('unreadable-statement', 'medium', 'block', { reason });
    return {
      action: 'block',
      code: '0A000',
      message: 'pgward: statement refused: its text cannot be inspected',
      // The advice fits only what the encoding or a pending setting change made unreadable.
      detail: /client_encoding|standard_conforming_strings/.test(reason)
        ? `${reason}. Send statements in UTF8, or after the setting change has completed.`
        : `${reason}.`,
    };
  }

  /**
   * In a read-only session on a server that reports default_transaction_read_only, the next
   * cycle waits until those sent before it are answered when any of them could have run a
   * function (and so switched read-only off): the report comes with that answer, so nothing
   * pipelined behind such a statement reaches the server before pgward has read it.
   */
  mustWait(): boolean {
    if (!this.o.readOnly || !this.reportsReadOnly || this.lifted) return false;
    return this.units.some((u) => u.statements.some((s) => !s.blocked && !s.info.inert));
  }

  bind(statement: string, body: Buffer): StatementVerdict | null {
    if (this.lifted) return { action: 'end', message: 'read-only-lifted' };
    const p = this.prepared.get(statement);
    if (!p) return null;
    // Within one pipeline step nothing can wait for the server's report: a COMMIT bound after
    // statements that could have switched read-only off would let the next ones run writable.
    const afterCode = this.current?.statements.some((s) => !s.blocked && !s.info.inert) ?? false;
    if (this.o.readOnly && p.endsTransaction && afterCode) {
      const detail =
        'A transaction end bound in the same pipeline step (before Sync) after statements that may run functions; send it after their results.';
      this.unit().statements.push({ info: p, sql: p.sql, blocked: detail });
      return {
        action: 'block',
        code: '25006',
        message: 'pgward: this session is read-only',
        detail,
        hint: this.readOnlyHint(),
      };
    }
    const executed: Executed = { info: p, sql: p.sql, blocked: null };
    if (this.o.profile.logParameters) {
      try {
        executed.params = bindValues(body);
      } catch {
        executed.params = ['<malformed Bind>'];
      }
    }
    this.unit().statements.push(executed);
    return null;
  }

  sync(): void {
    this.units.push(this.current ?? { statements: [], startedAt: this.now() });
    this.current = null;
  }

  ready(r: CycleResult): void {
    const unit = this.units.shift();
    if (!unit) return;
    this.finishUnit(unit, r.error === 'blocked' ? 'blocked' : r.error ? 'error' : 'ok', r);
  }

  /** Session over: batches still in flight are recorded as interrupted. */
  finish(reason: string): void {
    if (this.current) this.sync();
    for (const unit of this.units.splice(0))
      this.finishUnit(unit, 'interrupted', { rows: 0, bytes: 0, error: null, status: '' });
    if (reason.endsWith('protocol-violation')) this.raise('protocol', 'high', { reason });
    this.closeWindow();
    this.flushStatements();
  }

  // ---- internals ------------------------------------------------------------------

  private unit(): Unit {
    this.current ??= { statements: [], startedAt: this.now() };
    return this.current;
  }

  private applyProfile(info: StatementInfo): StatementVerdict | null {
    if (info.risks.length === 0) return null;
    let worst: { risk: Risk; action: StatementAction } | null = null;
    for (const risk of info.risks) {
      const action = statementAction(this.o.profile, risk);
      if (!worst || SEVERITY[action] > SEVERITY[worst.action]) worst = { risk, action };
    }
    if (!worst || worst.action === 'log') return null;
    const detail = { risk: worst.risk, risks: info.risks, sql: info.normalized, tables: info.tables };
    this.flushStatements();
    this.anomalies++;
    this.o.sinks.anomaly('risky-statement', worst.action === 'alert' ? 'medium' : 'high', worst.action, detail);
    switch (worst.action) {
      case 'alert':
        return null;
      case 'block':
        return {
          action: 'block',
          code: '42501',
          message: `pgward: statement refused by policy (${worst.risk})`,
          detail: `The session's detector profile blocks ${worst.risk}.`,
        };
      case 'end-session':
        queueMicrotask(() => this.o.sinks.end(`terminating connection: statement refused by policy (${worst!.risk})`));
        return { action: 'end', message: worst.risk };
      case 'revoke-token':
        queueMicrotask(() => this.o.sinks.revoke(`detector: ${worst!.risk}`));
        return { action: 'end', message: worst.risk };
    }
    return null;
  }

  private finishUnit(unit: Unit, outcome: 'ok' | 'error' | 'blocked' | 'interrupted', r: CycleResult): void {
    if (unit.statements.length === 0 && outcome === 'ok') return;
    const now = this.now();
    this.statements += unit.statements.length;
    if (this.pending.length === 0) this.pendingStart = now;
    // Each distinct statement is written once per event; runs refer to it by index.
    const refs =
      unit.statements.length === 1 ? [this.ref(unit.statements[0]!)] : unit.statements.map((s) => this.ref(s));
    const run: unknown[] = [
      refs.length === 1 ? refs[0] : refs,
      r.rows,
      r.bytes,
      now - unit.startedAt,
      now - this.pendingStart,
      outcome,
    ];
    const params = unit.statements.some((s) => s.params) ? unit.statements.map((s) => s.params ?? []) : null;
    // Masked sessions: values masked per column or recogniser (docs/masking.md).
    const masked = r.masked ?? null;
    const error = r.error && r.error !== 'blocked' ? r.error : null;
    // The server's error message can quote values ("invalid input syntax ...: "4111..."):
    // kept only where the profile keeps values (logParameters), like the statement text.
    const message = error && this.o.profile.logParameters ? (r.errorMessage ?? null) : null;
    // Optional columns at the end, each written only when it or a later one has a value.
    const tail: unknown[] = [error, params, masked, message];
    while (tail.length > 0 && tail[tail.length - 1] === null) tail.pop();
    run.push(...tail);
    this.pending.push(run);
    if (this.pending.length >= STATEMENTS_PER_EVENT) this.flushStatements();
    else this.pendingTimer ??= setTimeout(() => this.flushStatements(), STATEMENT_EVENT_DELAY_MS);
    this.observe(unit, r);
  }

  /** The index of a statement in the pending event's dictionary (added on first use). */
  private ref(s: Executed): number {
    // A profile that logs parameters keeps the text as sent, but not megabytes of it: a text
    // over the parse budget is kept as the (cut) normalized form the worker made.
    const sql = this.o.profile.logParameters && s.sql.length <= MAX_LOGGED_TEXT ? s.sql : s.info.normalized;
    const key = s.blocked ? `${sql}\0${s.blocked}` : sql;
    let idx = this.pendingIndex.get(key);
    if (idx === undefined) {
      idx = this.pendingStatements.length;
      this.pendingIndex.set(key, idx);
      this.pendingStatements.push({
        sql,
        category: s.info.category,
        ...(s.info.tables.length ? { tables: s.info.tables } : {}),
        ...(s.info.risks.length ? { risks: s.info.risks } : {}),
        ...(s.blocked ? { blocked: s.blocked } : {}),
      });
    }
    return idx;
  }

  private observe(unit: Unit, r: CycleResult): void {
    const p = this.o.profile.baseline;
    const b = this.o.baseline;
    if (this.now() - this.window.start >= this.windowMs) this.closeWindow();
    this.window.rows += r.rows;
    this.window.bytes += r.bytes;
    this.window.statements += unit.statements.length;
    const established = b.windows >= p.minWindows;
    for (const s of unit.statements) {
      for (const t of s.info.tables) {
        if (this.knownTables.has(t)) continue;
        this.knownTables.add(t);
        if (rememberTable(b, t) && established) this.raise('new-table', 'low', { table: t, sql: s.info.normalized });
      }
    }
    const threshold = bulkReadThreshold(b, p.sigma, p.bulkReadMinRows);
    if (established && !this.window.flagged && this.window.rows > threshold) {
      this.window.flagged = true;
      const tables = [...new Set(unit.statements.flatMap((s) => s.info.tables))];
      this.raise('bulk-read', 'high', {
        rows: this.window.rows,
        threshold: Math.round(threshold),
        baselineMean: Math.round(b.mean.rows),
        tables,
      });
    }
  }

  /** Chains the statements recorded so far as one event (each keeps its own time, rows and outcome). */
  flushStatements(): void {
    if (this.pendingTimer) {
      clearTimeout(this.pendingTimer);
      this.pendingTimer = null;
    }
    if (this.pending.length === 0) return;
    const runs = this.pending;
    const statements = this.pendingStatements;
    this.pending = [];
    this.pendingStatements = [];
    this.pendingIndexMap?.clear();
    this.o.sinks.record('statements', {
      start: new Date(this.pendingStart).toISOString(),
      count: runs.length,
      statements,
      columns: RUN_COLUMNS,
      runs,
    });
  }

  private closeWindow(): void {
    // A window with a flagged spike is not learned: the spike must not become normal.
    if (this.window.statements > 0 && !this.window.flagged)
      learnWindow(this.o.baseline, this.window, new Date(this.window.start));
    this.window = { start: this.now(), rows: 0, bytes: 0, statements: 0, flagged: false };
  }

  private raise(kind: AnomalyKind, severity: 'low' | 'medium' | 'high', detail: Record<string, unknown>): void {
    const action = anomalyAction(this.o.profile, kind);
    this.flushStatements();
    this.anomalies++;
    this.o.sinks.anomaly(kind, severity, action, detail);
    if (action === 'end-session')
      queueMicrotask(() => this.o.sinks.end(`terminating connection: anomaly detected (${kind})`));
    if (action === 'revoke-token') queueMicrotask(() => this.o.sinks.revoke(`detector: ${kind}`));
  }
}

function refusalOf(what: string): BlockReason {
  return {
    code: '25006',
    message: 'pgward: this session is read-only',
    detail: `The statement uses ${what}, which this session's access policy does not allow.`,
  };
}
