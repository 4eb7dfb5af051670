import { parseStatements, walk, type ParseNode } from './sql-parser.js';

/** Why a statement is refused in a read-only session (for the client and the audit). */
export interface BlockReason {
  code: string;
  message: string;
  detail: string;
}

const READ_ONLY_SETTINGS = new Set(['default_transaction_read_only', 'transaction_read_only']);

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
    } else if (kind === 'DoStmt') {
      // PL/pgSQL bodies are not parsed here: refuse the ones that touch the switch at all.
      if (/read[_\s]*(only|write)|set_config/i.test(JSON.stringify(node)))
        found = 'a DO block that changes read-only settings';
    }
  });
  return found;
}

/** The verdict on one statement text, uncached (pure: also run off the event loop for large texts). */
export function readOnlyVerdict(sql: string): BlockReason | null {
  const stmts = parseStatements(sql);
  const what = stmts ? findSwitch(stmts) : null;
  return what
    ? {
        code: '25006',
        message: 'pgward: this session is read-only',
        detail: `The statement uses ${what}, which this session's access policy does not allow.`,
      }
    : null;
}

/**
 * The relay's half of a read-only session (the upstream's default_transaction_read_only is
 * the other): statements that would switch read-only off are refused before Postgres sees
 * them. Verdicts are cached by statement text; text that does not parse is passed on, for
 * Postgres to refuse with its own syntax error.
 */
export class ReadOnlyGuard {
  private readonly cache = new Map<string, BlockReason | null>();
  /** Verdicts worked out elsewhere (off the event loop) for one use each: large texts are not cached. */
  private readonly primed = new Map<string, BlockReason | null>();

  constructor(private readonly maxCached = 2_000) {}

  /** Hands in the verdict for a text about to be checked; the next check of that text takes it. */
  prime(sql: string, verdict: BlockReason | null): void {
    this.primed.set(sql, verdict);
  }

  check(sql: string): BlockReason | null {
    const primed = this.primed.get(sql);
    if (primed !== undefined) {
      this.primed.delete(sql);
      return primed;
    }
    const hit = this.cache.get(sql);
    if (hit !== undefined) return hit;
    const verdict = readOnlyVerdict(sql);
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(sql, verdict);
    return verdict;
  }
}
