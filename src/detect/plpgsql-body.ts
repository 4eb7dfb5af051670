import { parsePlPgSQLSync } from 'libpg-query';
import type { ParseNode } from './sql-parser.js';

/** One piece of SQL a PL/pgSQL body runs, as PL/pgSQL hands it to the SQL parser. */
export interface BodySql {
  text: string;
  /**
   * statement: a whole statement (static SQL, PERFORM, FOR ... IN query); expression: an
   * expression PL/pgSQL evaluates as `SELECT expr`; assignment: `target := expr`;
   * executed: an expression whose value is SQL text run by EXECUTE (or OPEN/FOR/RETURN
   * QUERY ... EXECUTE).
   */
  kind: 'statement' | 'expression' | 'assignment' | 'executed';
}

export interface PlpgsqlBody {
  sql: BodySql[];
  /** COMMIT or ROLLBACK in the body: what follows runs in a new transaction. */
  transactionControl: boolean;
}

/** PL/pgSQL statements whose named field is SQL text to be run, not SQL itself. */
const EXECUTED: Record<string, string> = {
  PLpgSQL_stmt_dynexecute: 'query',
  PLpgSQL_stmt_dynfors: 'query',
  PLpgSQL_stmt_open: 'dynquery',
  PLpgSQL_stmt_return_query: 'dynquery',
};

/** Raw parse modes libpg_query reports (RawParseMode in parser/parser.h). */
const MODE_DEFAULT = 0;
const MODE_EXPR = 2;

function exprOf(node: unknown): { query: string; mode: number } | null {
  const e = (node as { PLpgSQL_expr?: { query?: string; parseMode?: number } } | null)?.PLpgSQL_expr;
  return e?.query === undefined ? null : { query: e.query, mode: e.parseMode ?? MODE_DEFAULT };
}

function kindOf(mode: number): BodySql['kind'] {
  if (mode === MODE_DEFAULT) return 'statement';
  return mode === MODE_EXPR ? 'expression' : 'assignment';
}

function collect(node: unknown, out: PlpgsqlBody): void {
  if (Array.isArray(node)) {
    for (const x of node) collect(x, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'PLpgSQL_stmt_commit' || key === 'PLpgSQL_stmt_rollback') out.transactionControl = true;
    const executedField = EXECUTED[key];
    if (executedField && value && typeof value === 'object') {
      for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
        const e = field === executedField ? exprOf(v) : null;
        if (e) out.sql.push({ text: e.query, kind: 'executed' });
        else collect(v, out);
      }
      continue;
    }
    const e = key === 'PLpgSQL_expr' ? exprOf(node) : null;
    if (e) {
      out.sql.push({ text: e.query, kind: kindOf(e.mode) });
      return;
    }
    collect(value, out);
  }
}

/** A dollar-quote tag the body does not contain, so it can be quoted back unchanged. */
function quoteTag(body: string): string {
  for (let i = 0; ; i++) {
    const tag = `$pgward${i || ''}$`;
    if (!body.includes(tag)) return tag;
  }
}

/**
 * The SQL a DO block's PL/pgSQL body runs, read with PL/pgSQL's own grammar (libpg_query's
 * plpgsql parser). Null when the body is not PL/pgSQL or does not parse.
 */
export function plpgsqlOfDo(doStmt: ParseNode): PlpgsqlBody | { language: string } | null {
  let body: string | null = null;
  let language = 'plpgsql';
  for (const a of (doStmt as { args?: unknown[] }).args ?? []) {
    const d = (a as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem;
    if (d?.defname === 'as') body = d.arg?.String?.sval ?? '';
    if (d?.defname === 'language') language = (d.arg?.String?.sval ?? '').toLowerCase();
  }
  if (language !== 'plpgsql') return { language };
  if (body === null) return null;
  const tag = quoteTag(body);
  let tree: unknown;
  try {
    tree = parsePlPgSQLSync(`DO ${tag}${body}${tag}`);
  } catch {
    return null;
  }
  const out: PlpgsqlBody = { sql: [], transactionControl: false };
  collect(tree, out);
  return out;
}
