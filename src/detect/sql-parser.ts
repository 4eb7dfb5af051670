import { loadModule, normalizeSync, parseSync, scanSync } from 'libpg-query';
import { adaptLegacyTree } from './legacy-tree.js';

import type { ParseNode } from './parse-node.js';

/** A node of libpg-query's JSON parse tree (Postgres 18's shape). */
export type { ParseNode } from './parse-node.js';

/** Where and why a grammar refused a text, as Postgres reports it (position is 1-based). */
export interface ParseFailure {
  message: string;
  position: number;
}

interface Grammar {
  loadModule(): Promise<void>;
  parseSync(sql: string): unknown;
}

/**
 * Older majors' grammars, each the libpg_query build of that major. Postgres 18's grammar
 * reads nearly every older text the same, but not all: words became reserved (SYSTEM_USER
 * in 16), so text a 13–15 server runs may not parse here. Only then is the upstream's own
 * grammar asked, so the common path costs one parse.
 */
const LEGACY_MAJORS = [13, 14, 15, 16, 17] as const;
/** 13 and 14 write values in the pre-15 tree shape. */
const OLD_SHAPE_BEFORE = 15;

const legacy = new Map<number, Grammar>();
let loaded: Promise<void> | null = null;

async function loadLegacy(major: number): Promise<void> {
  const mod = (await import(`libpg-query-${major}`)) as Grammar & { default?: Grammar };
  const grammar = mod.default ?? mod;
  await grammar.loadModule();
  legacy.set(major, grammar);
}

/** Loads every grammar (about 100 ms and 30 MB); call before the first parse. */
export function loadSqlParser(): Promise<void> {
  loaded ??= Promise.all([loadModule(), ...LEGACY_MAJORS.map(loadLegacy)]).then(() => undefined);
  return loaded;
}

function statementsOf(tree: unknown): ParseNode[] {
  return ((tree as { stmts?: Array<{ stmt?: ParseNode }> }).stmts ?? []).map((s) => s.stmt ?? {});
}

/** The grammar that differs from 18 for an upstream of this major, if any. */
function olderGrammar(major: number | undefined): Grammar | null {
  if (major === undefined || major >= 18) return null;
  return legacy.get(major) ?? null;
}

function failureOf(err: unknown): ParseFailure {
  const e = err as { message?: string; sqlDetails?: { message?: string; cursorPosition?: number } };
  return {
    message: e.sqlDetails?.message ?? e.message ?? 'syntax error',
    position: (e.sqlDetails?.cursorPosition ?? 0) + 1,
  };
}

type Outcome = { stmts: ParseNode[] } | { failure: ParseFailure };

function parseWith(sql: string, major: number | undefined): Outcome {
  try {
    return { stmts: statementsOf(parseSync(sql)) };
  } catch (latest) {
    const older = olderGrammar(major);
    if (!older) return { failure: failureOf(latest) };
    try {
      const tree = older.parseSync(sql);
      const stmts = statementsOf(tree);
      return { stmts: major! < OLD_SHAPE_BEFORE ? (adaptLegacyTree(stmts) as ParseNode[]) : stmts };
    } catch (own) {
      return { failure: failureOf(own) };
    }
  }
}

/**
 * Postgres's own grammar over a statement string: every statement's tree (in Postgres 18's
 * shape), or null when the upstream's grammar refuses the text too. `major` is the
 * upstream's major version; without it only 18's grammar is asked.
 */
export function parseStatements(sql: string, major?: number): ParseNode[] | null {
  const out = parseWith(sql, major);
  return 'stmts' in out ? out.stmts : null;
}

/** The syntax error the upstream's grammar gives for this text, or null when it parses. */
export function parseFailure(sql: string, major?: number): ParseFailure | null {
  const out = parseWith(sql, major);
  return 'failure' in out ? out.failure : null;
}

const CONSTANT_TOKENS = new Set(['SCONST', 'FCONST', 'ICONST', 'BCONST', 'XCONST', 'USCONST']);

/**
 * The text with every constant replaced by $n (what the audit keeps). Postgres 18's
 * normalizer needs 18's grammar; text only an older grammar parses is normalized from
 * the scanner's tokens, which every major reads alike for constants.
 */
export function normalizeStatement(sql: string, major?: number): string | null {
  try {
    return normalizeSync(sql);
  } catch {
    if (parseStatements(sql, major) === null) return null;
  }
  const tokens = (scanSync(sql) as { tokens: Array<{ start: number; end: number; text: string; tokenName: string }> })
    .tokens;
  let next = 1 + Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  let out = '';
  let at = 0;
  for (const t of tokens) {
    const literal = CONSTANT_TOKENS.has(t.tokenName) || (t.tokenName === 'UNKNOWN' && /^[bBxXuU]&?'/.test(t.text));
    if (!literal) continue;
    out += `${sql.slice(at, t.start)}$${next++}`;
    at = t.end;
  }
  return out + sql.slice(at);
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
