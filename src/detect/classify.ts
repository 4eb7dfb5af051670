import { normalizeSync } from 'libpg-query';
import type { Risk } from '../policy/profiles.js';
import { literalKey } from './literal-key.js';
import { parseStatements, walk, type ParseNode } from './sql-parser.js';

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
const FILE_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
]);
const LO_FUNCTIONS = new Set([
  'lo_import',
  'lo_export',
  'lo_open',
  'lo_get',
  'lo_put',
  'lo_from_bytea',
  'lo_unlink',
  'lo_create',
  'lo_creat',
  'loread',
  'lowrite',
  'lo_truncate',
]);
const REMOTE = /^(dblink|dblink_exec|dblink_connect|dblink_connect_u|dblink_open|dblink_send_query|postgres_fdw_.*)$/;
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
  if (WRITE.has(kind)) return 'write';
  if (DCL.has(kind)) return 'dcl';
  if (UTILITY.has(kind)) return 'utility';
  return 'ddl';
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

function funcName(node: ParseNode): string {
  const parts = (node as { funcname?: Array<{ String?: { sval?: string } }> }).funcname ?? [];
  return (parts[parts.length - 1]?.String?.sval ?? '').toLowerCase();
}

/** Classification of parsed statements: the weightiest category, every table, every risk. */
export function classifyTrees(stmts: ParseNode[]): Omit<StatementInfo, 'normalized'> {
  let category: StatementCategory = 'utility';
  let best = -1;
  const tables = new Set<string>();
  const ctes = new Set<string>();
  const risks = new Set<Risk>();
  if (stmts.length > 1) risks.add('multi-statement');
  for (const stmt of stmts) {
    const [kind, node] = (Object.entries(stmt)[0] ?? ['', {}]) as [string, ParseNode];
    let cat = topCategory(kind, node);
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
        case 'FuncCall': {
          const f = funcName(n);
          if (FILE_FUNCTIONS.has(f)) risks.add('server-file-function');
          if (LO_FUNCTIONS.has(f)) risks.add('large-object-function');
          if (REMOTE.test(f)) risks.add('remote-access');
          break;
        }
        default:
          if (DROP.has(k)) risks.add('drop');
          if (REMOTE_STMTS.has(k)) risks.add('remote-access');
      }
    });
    if (RANK[cat] > best) {
      best = RANK[cat];
      category = cat;
    }
  }
  for (const c of ctes) tables.delete(c);
  return {
    category: stmts.length === 0 ? 'utility' : category,
    tables: [...tables],
    risks: [...risks],
    count: stmts.length,
  };
}

const UNPARSABLE: StatementInfo = { normalized: '(unparsable)', category: 'invalid', tables: [], risks: [], count: 0 };

/** Classifies one statement text, uncached (pure: also run off the event loop for large texts). */
export function inspectText(sql: string): StatementInfo {
  let normalized: string;
  try {
    normalized = normalizeSync(sql);
  } catch {
    return UNPARSABLE;
  }
  const stmts = parseStatements(sql);
  return stmts
    ? { normalized, ...classifyTrees(stmts) }
    : { normalized, category: 'invalid', tables: [], risks: [], count: 0 };
}

/**
 * Classifies statement text with Postgres's own parser, at most once per distinct text:
 * an exact-text cache catches repeats (extended protocol, ORMs), a normalized-text cache
 * catches the same statement with other constants (pgbench -S, literals in loops).
 */
export class StatementInspector {
  private readonly byText = new Map<string, StatementInfo>();
  private readonly byNormalized = new Map<string, StatementInfo>();
  /** By literal shape (literalKey): the common case costs no WASM call at all. */
  private readonly byShape = new Map<string, StatementInfo>();
  /** Results worked out elsewhere (off the event loop) for one use each: large texts are not cached. */
  private readonly primed = new Map<string, StatementInfo>();
  parses = 0;

  constructor(private readonly maxEntries = 5_000) {}

  /** Hands in the classification of a text about to be inspected; the next inspect of it takes it. */
  prime(sql: string, info: StatementInfo): void {
    this.primed.set(sql, info);
  }

  inspect(sql: string): StatementInfo {
    const primed = this.primed.get(sql);
    if (primed) {
      this.primed.delete(sql);
      return primed;
    }
    const hit = this.byText.get(sql);
    if (hit) return hit;
    const shape = literalKey(sql);
    if (shape !== null) {
      const same = this.byShape.get(shape);
      if (same) return same;
    }
    let normalized: string;
    try {
      normalized = normalizeSync(sql);
    } catch {
      return this.remember(this.byText, sql, UNPARSABLE);
    }
    let info = this.byNormalized.get(normalized);
    if (!info) {
      this.parses++;
      const stmts = parseStatements(sql);
      info = stmts
        ? { normalized, ...classifyTrees(stmts) }
        : { normalized, category: 'invalid', tables: [], risks: [], count: 0 };
      this.remember(this.byNormalized, normalized, info);
    }
    if (shape !== null) this.remember(this.byShape, shape, info);
    return this.remember(this.byText, sql, info);
  }

  private remember(map: Map<string, StatementInfo>, key: string, info: StatementInfo): StatementInfo {
    // Oldest first out: a Map iterates in insertion order.
    if (map.size >= this.maxEntries) map.delete(map.keys().next().value as string);
    map.set(key, info);
    return info;
  }
}
