import { loadModule, parseSync } from 'libpg-query';

/** A node of libpg-query's JSON parse tree. */
export type ParseNode = Record<string, unknown>;

let loaded: Promise<void> | null = null;

/** Loads the WASM parser once; call before the first parse. */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/**
 * Postgres's own grammar (libpg_query, PG 18) over a statement string: every statement's
 * tree, or null when the text does not parse. Upstream servers (13–18) accept a subset of
 * this grammar, so text that fails here fails there too.
 */
export function parseStatements(sql: string): ParseNode[] | null {
  try {
    const tree = parseSync(sql) as { stmts?: Array<{ stmt?: ParseNode }> };
    return (tree.stmts ?? []).map((s) => s.stmt ?? {});
  } catch {
    return null;
  }
}

/** Calls visit for every object node below root (depth first). */
export function walk(root: unknown, visit: (kind: string, node: ParseNode) => void): void {
  if (Array.isArray(root)) {
    for (const x of root) walk(x, visit);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  for (const [key, value] of Object.entries(root)) {
    // Node kinds are the PascalCase keys (VariableSetStmt, FuncCall, ...).
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (/^[A-Z]/.test(key)) visit(key, value as ParseNode);
      // The target of INSERT/UPDATE/DELETE/COPY/MERGE is a bare RangeVar under `relation`.
      else if (key === 'relation' && 'relname' in value) visit('RangeVar', value as ParseNode);
    }
    walk(value, visit);
  }
}
