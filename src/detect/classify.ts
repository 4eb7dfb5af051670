import type { Risk } from '../policy/profiles.js';
import { functionRisks, functionWrites } from './function-names.js';
import { innerSql } from './inner-sql.js';
import { literalKey } from './literal-key.js';
import {
  normalizeStatement,
  parseFailure,
  parseStatements,
  walk,
  type ParseFailure,
  type ParseNode,
} from './sql-parser.js';

export type StatementCategory = 'read' | 'write' | 'ddl' | 'dcl' | 'transaction' | 'utility' | 'invalid';

export { RISKS, type Risk } from '../policy/profiles.js';

export interface StatementInfo {
  /** The text with every constant replaced by $n: what the audit keeps, never literals. */
  normalized: string;
  category: StatementCategory;
  /** Relations named, as schema.name or name. */
  tables: string[];
  risks: Risk[];
  /** How many statements the text holds. */
  count: number;
  /**
   * Only transaction control, SET and SHOW: nothing that could run a function (so nothing
   * that could switch read-only off behind the statement check's back).
   */
  inert?: boolean;
  /** It ends a transaction (COMMIT, ROLLBACK, PREPARE TRANSACTION): what follows starts a new one. */
  endsTransaction?: boolean;
  /** Why no grammar of the upstream's major reads the text (Postgres's own syntax error). */
  failure?: ParseFailure;
}

const DCL = new Set([
  'GrantStmt',
  'GrantRoleStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'AlterRoleSetStmt',
  'DropRoleStmt',
  'AlterDefaultPrivilegesStmt',
  'ReassignOwnedStmt',
  'DropOwnedStmt',
]);
const WRITE = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'TruncateStmt']);
const UTILITY = new Set([
  'VariableSetStmt',
  'VariableShowStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'VacuumStmt',
  'CheckPointStmt',
  'LockStmt',
  'DoStmt',
  'CallStmt',
  'LoadStmt',
  'ClusterStmt',
  'ReindexStmt',
  'DeclareCursorStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'ExplainStmt',
  'ConstraintsSetStmt',
]);
const DROP = new Set([
  'DropStmt',
  'DropdbStmt',
  'DropRoleStmt',
  'DropTableSpaceStmt',
  'DropSubscriptionStmt',
  'DropOwnedStmt',
  'DropUserMappingStmt',
]);
const REMOTE_STMTS = new Set([
  'CreateForeignServerStmt',
  'CreateUserMappingStmt',
  'AlterUserMappingStmt',
  'ImportForeignSchemaStmt',
  'CreateSubscriptionStmt',
]);

function topCategory(kind: string, node: ParseNode): StatementCategory {
  if (kind === 'SelectStmt') return (node as { intoClause?: unknown }).intoClause ? 'write' : 'read';
  if (kind === 'CopyStmt') return (node as { is_from?: boolean }).is_from ? 'write' : 'read';
  if (kind === 'TransactionStmt') return 'transaction';
  // EXPLAIN ANALYZE runs its statement: it weighs what that statement does.
  if (kind === 'ExplainStmt' && explainRuns(node)) return 'read';
  if (WRITE.has(kind)) return 'write';
  if (DCL.has(kind)) return 'dcl';
  if (UTILITY.has(kind)) return 'utility';
  return 'ddl';
}

function explainRuns(node: ParseNode): boolean {
  return ((node as { options?: unknown[] }).options ?? []).some((o) => {
    const d = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
    if (d?.defname !== 'analyze') return false;
    const v = d.arg as { Boolean?: { boolval?: boolean }; String?: { sval?: string } } | undefined;
    if (!v) return true;
    if (v.Boolean) return v.Boolean.boolval === true;
    return !['false', 'off', '0', 'no'].includes(String(v.String?.sval ?? '').toLowerCase());
  });
}

const RANK: Record<StatementCategory, number> = {
  invalid: 0,
  transaction: 1,
  utility: 2,
  read: 3,
  write: 4,
  ddl: 5,
  dcl: 6,
};

/** Statements that run no function: transaction control, SET, SHOW. */
const INERT = new Set(['TransactionStmt', 'VariableSetStmt', 'VariableShowStmt']);

function funcName(node: ParseNode): string {
  const parts = (node as { funcname?: Array<{ String?: { sval?: string } }> }).funcname ?? [];
  return (parts[parts.length - 1]?.String?.sval ?? '').toLowerCase();
}

function firstArgConstant(node: ParseNode): string | null {
  const c = ((node as { args?: unknown[] }).args?.[0] as { A_Const?: { sval?: { sval?: string } } } | undefined)
    ?.A_Const;
  return c?.sval ? String(c.sval.sval ?? '').toLowerCase() : null;
}

interface Tally {
  category: StatementCategory;
  best: number;
  tables: Set<string>;
  ctes: Set<string>;
  risks: Set<Risk>;
  inert: boolean;
  /** The classification read a constant (a DO body, SQL text, a setting's name): texts alike but for constants may differ. */
  readsConstants: boolean;
}

function tallyStatement(t: Tally, stmt: ParseNode): void {
  const [kind, node] = (Object.entries(stmt)[0] ?? ['', {}]) as [string, ParseNode];
  let cat = topCategory(kind, node);
  if (!INERT.has(kind)) t.inert = false;
  const { tables, ctes, risks } = t;
  walk(stmt, (k, n) => {
    // A data-modifying CTE makes the whole statement a write.
    if (WRITE.has(k) && cat === 'read') cat = 'write';
    switch (k) {
      case 'CommonTableExpr':
        ctes.add(String((n as { ctename?: string }).ctename ?? ''));
        break;
      case 'RangeVar': {
        const r = n as { schemaname?: string; relname?: string };
        if (r.relname) tables.add(r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname);
        break;
      }
      case 'UpdateStmt':
        if (!(n as { whereClause?: unknown }).whereClause) risks.add('update-without-where');
        break;
      case 'DeleteStmt':
        if (!(n as { whereClause?: unknown }).whereClause) risks.add('delete-without-where');
        break;
      case 'TruncateStmt':
        risks.add('truncate');
        break;
      case 'AlterSystemStmt':
        risks.add('alter-system');
        break;
      case 'CopyStmt': {
        const c = n as { is_program?: boolean; filename?: string };
        if (c.is_program) risks.add('copy-program');
        else if (c.filename) risks.add('copy-server-file');
        break;
      }
      case 'CreateExtensionStmt':
        risks.add('create-extension');
        break;
      case 'VariableSetStmt': {
        const name = String((n as { name?: string }).name ?? '').toLowerCase();
        if (name === 'role') risks.add('set-role');
        if (name === 'session_authorization') risks.add('set-session-authorization');
        break;
      }
      case 'DoStmt':
        t.readsConstants = true;
        break;
      case 'FuncCall': {
        t.inert = false;
        const f = funcName(n);
        const argc = ((n as { args?: unknown[] }).args ?? []).length;
        for (const r of functionRisks(f, argc)) risks.add(r);
        if (functionWrites(f) && cat === 'read') cat = 'write';
        if (f === 'set_config') {
          // set_config('role', ...) is SET ROLE by another name.
          t.readsConstants = true;
          const setting = firstArgConstant(n);
          if (setting === 'role') risks.add('set-role');
          if (setting === 'session_authorization') risks.add('set-session-authorization');
        }
        if (risks.has('dynamic-sql')) t.readsConstants = true;
        break;
      }
      default:
        if (DROP.has(k)) risks.add('drop');
        if (REMOTE_STMTS.has(k)) risks.add('remote-access');
    }
  });
  if (RANK[cat] > t.best) {
    t.best = RANK[cat];
    t.category = cat;
  }
}

interface Classified {
  info: Omit<StatementInfo, 'normalized'>;
  readsConstants: boolean;
}

const TRANSACTION_ENDS = new Set([
  'TRANS_STMT_COMMIT',
  'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_PREPARE',
  'TRANS_STMT_COMMIT_PREPARED',
  'TRANS_STMT_ROLLBACK_PREPARED',
]);

function endsTransaction(stmt: ParseNode): boolean {
  const t = (stmt as { TransactionStmt?: { kind?: string } }).TransactionStmt;
  return t !== undefined && TRANSACTION_ENDS.has(t.kind ?? '');
}

function classify(stmts: ParseNode[], major: number | undefined): Classified {
  const t: Tally = {
    category: 'utility',
    best: -1,
    tables: new Set(),
    ctes: new Set(),
    risks: new Set(),
    inert: true,
    readsConstants: false,
  };
  if (stmts.length > 1) t.risks.add('multi-statement');
  for (const stmt of stmts) tallyStatement(t, stmt);
  const inertTop = t.inert;
  // What runs inside (DO bodies, SQL text handed to functions) weighs as if sent itself.
  const inner = innerSql(stmts, major);
  for (const stmt of inner.statements) tallyStatement(t, stmt);
  if (inner.dynamic.length > 0) t.risks.add('dynamic-sql');
  for (const c of t.ctes) t.tables.delete(c);
  return {
    info: {
      category: stmts.length === 0 ? 'utility' : t.category,
      tables: [...t.tables],
      risks: [...t.risks],
      count: stmts.length,
      ...(inertTop && stmts.length > 0 ? { inert: true } : {}),
      ...(stmts.some(endsTransaction) ? { endsTransaction: true } : {}),
    },
    readsConstants: t.readsConstants,
  };
}

/**
 * Classification of parsed statements: the weightiest category, every table, every risk,
 * counting what runs inside them (DO bodies, SQL text given to functions). `major` is the
 * upstream's, for SQL text found inside that only its grammar reads.
 */
export function classifyTrees(stmts: ParseNode[], major?: number): Omit<StatementInfo, 'normalized'> {
  return classify(stmts, major).info;
}

function unparsable(sql: string, major: number | undefined): StatementInfo {
  return {
    normalized: '(unparsable)',
    category: 'invalid',
    tables: [],
    risks: [],
    count: 0,
    failure: parseFailure(sql, major) ?? { message: 'syntax error', position: 0 },
  };
}

function inspectFull(sql: string, major: number | undefined): { info: StatementInfo; readsConstants: boolean } {
  const normalized = normalizeStatement(sql, major);
  if (normalized === null) return { info: unparsable(sql, major), readsConstants: true };
  const stmts = parseStatements(sql, major);
  if (!stmts) return { info: unparsable(sql, major), readsConstants: true };
  const c = classify(stmts, major);
  return { info: { normalized, ...c.info }, readsConstants: c.readsConstants };
}

/**
 * Classifies one statement text, uncached (pure: also run off the event loop for large
 * texts). `major` is the upstream's major version: text only its grammar reads is
 * classified from its tree, and text no grammar of it reads carries `failure`.
 */
export function inspectText(sql: string, major?: number): StatementInfo {
  return inspectFull(sql, major).info;
}

interface Caches {
  byText: Map<string, StatementInfo>;
  byNormalized: Map<string, StatementInfo>;
  /** By literal shape (literalKey): the common case costs no WASM call at all. */
  byShape: Map<string, StatementInfo>;
}

/**
 * Classifies statement text with Postgres's own parser, at most once per distinct text:
 * an exact-text cache catches repeats (extended protocol, ORMs), a normalized-text cache
 * catches the same statement with other constants (pgbench -S, literals in loops). Caches
 * are kept per upstream major (one inspector serves every session of a gateway, and text
 * only an older grammar reads classifies differently by major). A text whose classification
 * reads its constants (a DO body, SQL text given to query_to_xml, set_config's setting name)
 * is cached by exact text only: the same shape with other constants may run something else.
 */
export class StatementInspector {
  private readonly caches = new Map<number, Caches>();
  /** Results worked out elsewhere (off the event loop) for one use each: large texts are not cached. */
  private readonly primed = new Map<string, StatementInfo>();
  parses = 0;

  constructor(private readonly maxEntries = 5_000) {}

  /** Hands in the classification of a text about to be inspected; the next inspect of it takes it. */
  prime(sql: string, info: StatementInfo): void {
    this.primed.set(sql, info);
  }

  private cachesFor(major: number | undefined): Caches {
    const key = major ?? 0;
    let c = this.caches.get(key);
    if (!c) {
      c = { byText: new Map(), byNormalized: new Map(), byShape: new Map() };
      this.caches.set(key, c);
    }
    return c;
  }

  inspect(sql: string, major?: number): StatementInfo {
    const primed = this.primed.get(sql);
    if (primed) {
      this.primed.delete(sql);
      return primed;
    }
    const { byText, byNormalized, byShape } = this.cachesFor(major);
    const hit = byText.get(sql);
    if (hit) return hit;
    const shape = literalKey(sql);
    if (shape !== null) {
      const same = byShape.get(shape);
      if (same) return same;
    }
    const normalized = normalizeStatement(sql, major);
    if (normalized === null) return this.remember(byText, sql, unparsable(sql, major));
    let info = byNormalized.get(normalized);
    if (!info) {
      this.parses++;
      const full = inspectFull(sql, major);
      info = full.info;
      if (full.readsConstants) return this.remember(byText, sql, info);
      this.remember(byNormalized, normalized, info);
    }
    if (shape !== null) this.remember(byShape, shape, info);
    return this.remember(byText, sql, info);
  }

  private remember(map: Map<string, StatementInfo>, key: string, info: StatementInfo): StatementInfo {
    // Oldest first out: a Map iterates in insertion order.
    if (map.size >= this.maxEntries) map.delete(map.keys().next().value as string);
    map.set(key, info);
    return info;
  }
}
