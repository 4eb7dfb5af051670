import { functionRisks, READ_ONLY_SETTINGS } from './function-names.js';
import { innerSql } from './inner-sql.js';
import { parseStatements, walk, type ParseNode } from './sql-parser.js';

/** Why a statement is refused in a read-only session (for the client and the audit). */
export interface BlockReason {
  code: string;
  message: string;
  detail: string;
}

function constValue(node: unknown): string | null {
  const c = (node as { A_Const?: Record<string, unknown> } | null)?.A_Const;
  if (!c) return null;
  if ('sval' in c) return String((c['sval'] as { sval?: string }).sval ?? '');
  // Protobuf leaves zero values out: {ival: {}} is 0 and {boolval: {}} is false.
  if ('ival' in c) return String((c['ival'] as { ival?: number }).ival ?? 0);
  if ('boolval' in c) return (c['boolval'] as { boolval?: boolean }).boolval ? 'true' : 'false';
  return null;
}

/**
 * Whether Postgres's parse_bool (utils/adt/bool.c) could read the value as false: any
 * non-empty prefix of "false" or "no", "of"/"off" (two letters at least: "o" is ambiguous),
 * or "0". A value that is not a constant could be anything, so it counts as false.
 */
export function mayBeFalse(v: string | null): boolean {
  if (v === null) return true;
  const w = v.toLowerCase();
  if (w.length === 0) return false;
  return 'false'.startsWith(w) || 'no'.startsWith(w) || (w.length >= 2 && 'off'.startsWith(w)) || w === '0';
}

const isFalse = mayBeFalse;

function defElemTurnsOff(node: ParseNode): boolean {
  const d = node as { defname?: string; arg?: unknown };
  return d.defname === 'transaction_read_only' && isFalse(constValue(d.arg));
}

function variableSetTurnsOff(node: ParseNode): string | null {
  const v = node as { kind?: string; name?: string; args?: unknown[] };
  const name = (v.name ?? '').toLowerCase();
  if (v.kind === 'VAR_SET_VALUE' && READ_ONLY_SETTINGS.has(name) && isFalse(constValue(v.args?.[0])))
    return `SET ${name}`;
  // transaction_read_only's reset value is off: RESET (or SET ... TO DEFAULT) before the
  // transaction's first query makes it writable. default_transaction_read_only resets to the
  // value pgward gave at connection start (on).
  if ((v.kind === 'VAR_RESET' || v.kind === 'VAR_SET_DEFAULT') && name === 'transaction_read_only')
    return `RESET ${name}`;
  if (
    v.kind === 'VAR_SET_MULTI' &&
    (v.args ?? []).some((a) => defElemTurnsOff((a as { DefElem?: ParseNode }).DefElem ?? {}))
  )
    return `SET ${v.name ?? ''} READ WRITE`;
  return null;
}

/** The first construct in a parse tree that would make the session (or a transaction) writable. */
function findSwitch(stmts: ParseNode[]): string | null {
  let found: string | null = null;
  walk(stmts, (kind, node) => {
    if (found) return;
    if (kind === 'VariableSetStmt') {
      found = variableSetTurnsOff(node);
    } else if (kind === 'AlterRoleSetStmt' || kind === 'AlterDatabaseSetStmt') {
      // Their SET is held under `setstmt`, not as a VariableSetStmt node.
      const set = (node as { setstmt?: ParseNode }).setstmt;
      found = set ? variableSetTurnsOff(set) : null;
    } else if (kind === 'TransactionStmt') {
      const t = node as { options?: unknown[] };
      if ((t.options ?? []).some((o) => defElemTurnsOff((o as { DefElem?: ParseNode }).DefElem ?? {})))
        found = 'a READ WRITE transaction';
    } else if (kind === 'FuncCall') {
      const f = node as { funcname?: Array<{ String?: { sval?: string } }>; args?: unknown[] };
      const name = f.funcname?.[f.funcname.length - 1]?.String?.sval?.toLowerCase();
      if (name === 'set_config') {
        const setting = constValue(f.args?.[0]);
        // A computed setting name cannot be checked, so it is refused unless its value could
        // not switch read-only off anyway (pg_dump sets restrict_nonsystem_relation_kind so).
        const named = setting !== null && READ_ONLY_SETTINGS.has(setting.toLowerCase());
        if ((setting === null || named) && isFalse(constValue(f.args?.[1])))
          found = 'set_config() on read-only settings';
      }
    }
  });
  return found;
}

/** COMMIT, ROLLBACK and the like: the next statement starts a new transaction (AND CHAIN keeps the old one's mode). */
function endsTransaction(stmt: ParseNode): boolean {
  const t = stmt['TransactionStmt'] as { kind?: string; chain?: boolean } | undefined;
  if (!t || t.chain) return false;
  return ['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE'].includes(t.kind ?? '');
}

const INERT = new Set(['TransactionStmt', 'VariableSetStmt', 'VariableShowStmt']);

/**
 * A text that runs statements after a COMMIT or ROLLBACK, when something before it could
 * have run a function: the function may have switched default_transaction_read_only off
 * (the server reports that only at the end of the whole text), and the statements after
 * the COMMIT would run in a writable transaction.
 */
function commitsAfterCode(stmts: ParseNode[]): boolean {
  let code = false;
  for (let i = 0; i < stmts.length - 1; i++) {
    const stmt = stmts[i]!;
    const kind = Object.keys(stmt)[0] ?? '';
    if (!INERT.has(kind)) code = true;
    else if (endsTransaction(stmt) && code) return true;
  }
  return false;
}

function refusal(what: string): BlockReason {
  return {
    code: '25006',
    message: 'pgward: this session is read-only',
    detail: `The statement uses ${what}, which this session's access policy does not allow.`,
  };
}

/**
 * The verdict on one statement text, uncached (pure: also run off the event loop for large
 * texts). `major` is the upstream's major version, for text only its grammar reads. Text
 * that no grammar reads gets no verdict here: the session monitor refuses it with its
 * syntax error.
 */
export function readOnlyVerdict(sql: string, major?: number): BlockReason | null {
  const stmts = parseStatements(sql, major);
  if (!stmts) return null;
  const inner = innerSql(stmts, major);
  const what = findSwitch(stmts) ?? findSwitch(inner.statements);
  if (what) return refusal(what);
  if (inner.dynamic.length > 0) return refusal(`SQL text that pgward cannot read before it runs (${inner.dynamic[0]})`);
  const runsText = stmts.some((s) => walkFinds(s, (k, n) => k === 'FuncCall' && runsSqlText(n)));
  if (runsText) return refusal('a function that runs SQL text');
  if (inner.transactionControl) return refusal('a DO block that commits or rolls back');
  if (commitsAfterCode(stmts))
    return refusal('statements after a COMMIT or ROLLBACK that follows statements which may run functions');
  return null;
}

function runsSqlText(node: ParseNode): boolean {
  const f = node as { funcname?: Array<{ String?: { sval?: string } }>; args?: unknown[] };
  const name = (f.funcname?.[f.funcname.length - 1]?.String?.sval ?? '').toLowerCase();
  return functionRisks(name, f.args?.length ?? 0).includes('dynamic-sql');
}

function walkFinds(root: unknown, test: (kind: string, node: ParseNode) => boolean): boolean {
  let found = false;
  walk(root, (k, n) => {
    if (!found && test(k, n)) found = true;
  });
  return found;
}

/**
 * The relay's half of a read-only session (the upstream's default_transaction_read_only is
 * the other): statements that would switch read-only off, run SQL text pgward cannot read,
 * or run statements past a COMMIT after code that might have switched it off are refused
 * before Postgres sees them. Verdicts are cached by statement text, per upstream major.
 */
export class ReadOnlyGuard {
  private readonly caches = new Map<number, Map<string, BlockReason | null>>();
  /** Verdicts worked out elsewhere (off the event loop) for one use each: large texts are not cached. */
  private readonly primed = new Map<string, BlockReason | null>();

  constructor(private readonly maxCached = 2_000) {}

  /** Hands in the verdict for a text about to be checked; the next check of that text takes it. */
  prime(sql: string, verdict: BlockReason | null): void {
    this.primed.set(sql, verdict);
  }

  check(sql: string, major?: number): BlockReason | null {
    const primed = this.primed.get(sql);
    if (primed !== undefined) {
      this.primed.delete(sql);
      return primed;
    }
    let cache = this.caches.get(major ?? 0);
    if (!cache) this.caches.set(major ?? 0, (cache = new Map()));
    const hit = cache.get(sql);
    if (hit !== undefined) return hit;
    const verdict = readOnlyVerdict(sql, major);
    if (cache.size >= this.maxCached) cache.delete(cache.keys().next().value as string);
    cache.set(sql, verdict);
    return verdict;
  }
}
