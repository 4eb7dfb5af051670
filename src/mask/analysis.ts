import type { ParseNode } from '../detect/sql-parser.js';
import { walk } from '../detect/sql-parser.js';
import type { MaskedCatalogue } from './catalogue.js';
import { copyOptions, type CopyOptions } from './copy-out.js';
import { derivedStrategy } from './maskers.js';
import type { ColumnMask } from './row-plan.js';

/**
 * Which outputs of a statement come from masked columns, read from its parse tree. Names
 * are resolved conservatively: a column reference is tainted when its name is a masked
 * column of any relation the statement reads (or an output of a subquery, CTE or view
 * computed from one), so an expression is masked rather than guessed to be safe. A plain
 * column is decided by RowDescription's table OID and attribute number instead (exact).
 */

export interface CopyTarget {
  options: CopyOptions;
  /** Per copied column, its mask; null when the columns cannot be lined up (then refused if tainted). */
  masks: Array<ColumnMask | null> | null;
  /** Why the columns cannot be lined up, when masks is null. */
  why?: string;
}

export interface Analysis {
  /** Per output position, when the target list has no `*` (RowDescription lines up with it). */
  outputs: Array<ColumnMask | null> | null;
  /** Tainted column and output names (lower case): a computed field so named is masked. */
  names: Map<string, ColumnMask>;
  /** A non-star output is tainted: with a `*` in the list, every computed field is masked. */
  anyOutput: ColumnMask | null;
  /** Why the statement is refused (it would let masked data out unmasked), or null. */
  refuse: string | null;
  copy: CopyTarget | null;
  /** Relation names the catalogue does not know (it is reread before the statement runs). */
  unknown: string[];
  /** The statement may change the schema (the catalogue is reread after it). */
  ddl: boolean;
  /** PREPARE / DECLARE: the named statement or cursor whose later EXECUTE / FETCH reads this. */
  defines: { kind: 'prepared' | 'cursor'; name: string; analysis: Analysis } | null;
  /** EXECUTE / FETCH / MOVE: the prepared statement or cursor read. */
  uses: { kind: 'prepared' | 'cursor'; name: string } | null;
}

const READ_ONLY_KINDS = new Set([
  'SelectStmt',
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'ExplainStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'DeclareCursorStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'ListenStmt',
  'NotifyStmt',
  'UnlistenStmt',
  'LockStmt',
  'CallStmt',
  'DoStmt',
  'DiscardStmt',
  'CheckPointStmt',
  'VacuumStmt',
  'ConstraintsSetStmt',
]);

function str(n: unknown): string | null {
  const s = (n as { String?: { sval?: string } } | null)?.String?.sval;
  return typeof s === 'string' ? s : null;
}

function combine(a: ColumnMask | null, b: ColumnMask): ColumnMask {
  if (!a) return b;
  if (a.label === b.label) return a;
  const labels = new Set([...a.label.split('+'), ...b.label.split('+')]);
  const same = a.strategy.strategy === b.strategy.strategy;
  return { label: [...labels].sort().join('+'), strategy: same ? a.strategy : { strategy: 'redact' } };
}

function derived(m: ColumnMask): ColumnMask {
  return { label: m.label, strategy: derivedStrategy(m.strategy) };
}

interface Scope {
  names: Map<string, ColumnMask>;
  /** Relation, alias, CTE and subquery names with tainted columns (a whole-row reference to one is tainted). */
  aliases: Map<string, ColumnMask>;
}

/** Whether an expression reads a tainted column (and the merged mask); `plain` when it is one bare column. */
function exprTaint(node: unknown, scope: Scope): { mask: ColumnMask | null; plain: boolean } {
  const ref = (node as { ColumnRef?: { fields?: unknown[] } } | null)?.ColumnRef;
  if (ref) {
    const m = columnRefTaint(ref.fields ?? [], scope);
    return { mask: m, plain: true };
  }
  let mask: ColumnMask | null = null;
  walk(node, (kind, n) => {
    if (kind === 'ColumnRef') {
      const m = columnRefTaint((n as { fields?: unknown[] }).fields ?? [], scope);
      if (m) mask = combine(mask, m);
    }
  });
  return { mask: mask ? derived(mask) : null, plain: false };
}

function columnRefTaint(fields: unknown[], scope: Scope): ColumnMask | null {
  const last = fields[fields.length - 1];
  const isStar = (last as { A_Star?: unknown } | undefined)?.A_Star !== undefined;
  if (isStar) {
    // t.* inside an expression (row_to_json(t.*)), or a bare * : every column of what it names.
    if (fields.length === 1) {
      let m: ColumnMask | null = null;
      for (const v of scope.aliases.values()) m = combine(m, v);
      return m;
    }
    const q = str(fields[fields.length - 2])?.toLowerCase();
    return q ? (scope.aliases.get(q) ?? null) : null;
  }
  const name = str(last)?.toLowerCase();
  if (!name) return null;
  const direct = scope.names.get(name);
  if (direct) return direct;
  // A whole-row reference: row_to_json(c), c::text.
  if (fields.length === 1) return scope.aliases.get(name) ?? null;
  return null;
}

/** The name Postgres gives an output (FigureColname, for the cases that matter here). */
function outputName(target: ParseNode): string | null {
  const name = target['name'];
  if (typeof name === 'string') return name.toLowerCase();
  const val = target['val'] as Record<string, unknown> | undefined;
  const ref = val?.['ColumnRef'] as { fields?: unknown[] } | undefined;
  if (ref?.fields) return str(ref.fields[ref.fields.length - 1])?.toLowerCase() ?? null;
  const fn = val?.['FuncCall'] as { funcname?: unknown[] } | undefined;
  if (fn?.funcname) return str(fn.funcname[fn.funcname.length - 1])?.toLowerCase() ?? null;
  return null;
}

function isStarTarget(target: ParseNode): boolean {
  const fields = ((target['val'] as Record<string, unknown> | undefined)?.['ColumnRef'] as { fields?: unknown[] })
    ?.fields;
  const last = fields?.[fields.length - 1] as { A_Star?: unknown } | undefined;
  return last?.A_Star !== undefined;
}

function targetsOf(stmt: ParseNode, returning = false): ParseNode[] | null {
  const list = (returning ? stmt['returningList'] : stmt['targetList']) as Array<{ ResTarget?: ParseNode }> | undefined;
  return list ? list.map((t) => t.ResTarget ?? {}) : null;
}

/** Relations the catalogue knows under a name, schema-qualified or not (any schema then: conservative). */
function relationsNamed(cat: MaskedCatalogue, schema: string | null, name: string) {
  const all = cat.byName.get(name.toLowerCase()) ?? [];
  return schema ? all.filter((r) => r.schema.toLowerCase() === schema.toLowerCase()) : all;
}

/** Builds the tainted names of a whole statement (every subquery, CTE and view it reads), to a fixed point. */
function scopeOf(root: ParseNode, cat: MaskedCatalogue, unknown: string[]): Scope {
  const scope: Scope = { names: new Map(), aliases: new Map() };
  const cteNames = new Set<string>();
  walk(root, (kind, n) => {
    if (kind === 'CommonTableExpr' && typeof n['ctename'] === 'string') cteNames.add(n['ctename'].toLowerCase());
  });
  walk(root, (kind, n) => {
    if (kind !== 'RangeVar') return;
    const name = n['relname'] as string;
    const schema = (n['schemaname'] as string | undefined) ?? null;
    const rels = relationsNamed(cat, schema, name);
    // System catalogues are not in the masked catalogue (and hold no user rows): not unknown.
    const system =
      schema === 'pg_catalog' || schema === 'information_schema' || (schema === null && name.startsWith('pg_'));
    if (rels.length === 0 && !system && !(schema === null && cteNames.has(name.toLowerCase()))) unknown.push(name);
    const alias = ((n['alias'] as { aliasname?: string } | undefined)?.aliasname ?? name).toLowerCase();
    for (const rel of rels) {
      for (const [attnum, mask] of rel.masked) {
        const col = rel.columns.get(attnum)?.name.toLowerCase();
        if (col) scope.names.set(col, combine(scope.names.get(col) ?? null, mask));
        scope.aliases.set(alias, combine(scope.aliases.get(alias) ?? null, mask));
        scope.aliases.set(name.toLowerCase(), combine(scope.aliases.get(name.toLowerCase()) ?? null, mask));
      }
    }
  });
  // Subqueries, CTEs and set operations: an output computed from a tainted name is itself a tainted name.
  for (let round = 0; round < 8; round++) {
    const before = scope.names.size + scope.aliases.size;
    walk(root, (kind, n) => {
      if (kind === 'SelectStmt') {
        for (const t of targetsOf(n) ?? []) {
          const { mask } = exprTaint(t['val'], scope);
          const out = outputName(t);
          if (mask && out && !scope.names.has(out)) scope.names.set(out, mask);
        }
      } else if (kind === 'CommonTableExpr' || kind === 'RangeSubselect') {
        const body = (n['ctequery'] ?? n['subquery']) as ParseNode | undefined;
        const name =
          kind === 'CommonTableExpr'
            ? (n['ctename'] as string)
            : (n['alias'] as { aliasname?: string } | undefined)?.aliasname;
        const renamed = (
          kind === 'CommonTableExpr' ? n['aliascolnames'] : (n['alias'] as ParseNode | undefined)?.['colnames']
        ) as unknown[] | undefined;
        let m: ColumnMask | null = null;
        walk(body, (k, x) => {
          if (k === 'SelectStmt')
            for (const t of targetsOf(x) ?? []) {
              const { mask } = exprTaint(t['val'], scope);
              if (mask) m = combine(m, mask);
            }
        });
        if (m && name && !scope.aliases.has(name.toLowerCase())) scope.aliases.set(name.toLowerCase(), m);
        // Columns renamed by the alias list: any of them may carry the tainted one.
        if (m)
          for (const c of renamed ?? []) {
            const s = str(c)?.toLowerCase();
            if (s && !scope.names.has(s)) scope.names.set(s, derived(m));
          }
      }
    });
    if (scope.names.size + scope.aliases.size === before) break;
  }
  return scope;
}

/** The outputs of a query (a set operation's arms merged by position); null when a `*` makes them unalignable. */
function outputsOf(
  stmt: ParseNode,
  scope: Scope,
  returning = false,
): { outputs: Array<ColumnMask | null> | null; any: ColumnMask | null } {
  const op = stmt['op'];
  if (op && op !== 'SETOP_NONE') {
    const l = outputsOf((stmt['larg'] as ParseNode | undefined) ?? {}, scope);
    const r = outputsOf((stmt['rarg'] as ParseNode | undefined) ?? {}, scope);
    const any = l.any && r.any ? combine(l.any, r.any) : (l.any ?? r.any);
    if (!l.outputs || !r.outputs || l.outputs.length !== r.outputs.length) return { outputs: null, any };
    // A set operation's outputs have no table OID: a plain masked column in either arm masks the position.
    return {
      outputs: l.outputs.map((m, i) =>
        m && r.outputs![i] ? combine(m, r.outputs![i]!) : (m ?? r.outputs![i] ?? null),
      ),
      any,
    };
  }
  const targets = targetsOf(stmt, returning);
  if (!targets) return { outputs: [], any: null };
  let star = false;
  let any: ColumnMask | null = null;
  const outputs = targets.map((t) => {
    if (isStarTarget(t)) {
      star = true;
      return null;
    }
    const { mask } = exprTaint(t['val'], scope);
    if (mask) any = combine(any, mask);
    return mask;
  });
  return { outputs: star ? null : outputs, any };
}

function defElems(list: unknown): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const item of (list as Array<{ DefElem?: ParseNode }> | undefined) ?? []) {
    const d = item.DefElem;
    if (!d) continue;
    const arg = d['arg'];
    out.set(String(d['defname']).toLowerCase(), str(arg) ?? (arg === undefined ? true : JSON.stringify(arg)));
  }
  return out;
}

function copyTarget(stmt: ParseNode, cat: MaskedCatalogue, scope: Scope): CopyTarget {
  const options = copyOptions(defElems(stmt['options']));
  const query = stmt['query'] as ParseNode | undefined;
  if (query) {
    const inner = (query['SelectStmt'] ?? Object.values(query)[0]) as ParseNode | undefined;
    const { outputs, any } = inner ? outputsOf(inner, scope) : { outputs: [], any: null };
    // COPY has no RowDescription: plain columns are lined up through the target list too.
    return { options, masks: outputs ?? (any || scope.names.size > 0 ? null : []) };
  }
  const rv = stmt['relation'] as ParseNode;
  const rels = relationsNamed(cat, (rv['schemaname'] as string | undefined) ?? null, rv['relname'] as string);
  if (rels.length !== 1)
    return {
      options,
      masks: rels.some((r) => r.masked.size > 0) ? null : [],
      why: 'COPY of masked data needs the table named with its schema (several schemas have one of this name)',
    };
  const rel = rels[0]!;
  const attlist = (stmt['attlist'] as unknown[] | undefined)?.map((a) => str(a)?.toLowerCase() ?? '');
  const cols = [...rel.columns.entries()].sort((a, b) => a[0] - b[0]);
  const chosen = attlist
    ? attlist.map((name) => cols.find(([, c]) => c.name.toLowerCase() === name))
    : cols.map((c) => c);
  return { options, masks: chosen.map((c) => (c ? (rel.masked.get(c[0]) ?? null) : null)) };
}

/** Writing tainted data somewhere it would no longer be masked (a table, a view, a file). */
function writesTainted(kind: string, stmt: ParseNode, scope: Scope): boolean {
  const sources: unknown[] = [];
  if (kind === 'InsertStmt') sources.push(stmt['selectStmt']);
  else if (kind === 'UpdateStmt' || kind === 'MergeStmt') sources.push(stmt['targetList'], stmt['mergeWhenClauses']);
  else if (kind === 'CreateTableAsStmt' || kind === 'ViewStmt') sources.push(stmt['query']);
  else if (kind === 'SelectStmt' && stmt['intoClause']) sources.push(stmt['targetList']);
  else if (kind === 'CopyStmt' && stmt['filename'] !== undefined) sources.push(stmt['query'] ?? stmt['relation']);
  for (const s of sources) {
    if (!s) continue;
    let hit = false;
    walk(s, (k, n) => {
      if (k === 'ColumnRef' && columnRefTaint((n as { fields?: unknown[] }).fields ?? [], scope)) hit = true;
      if (k === 'RangeVar' && scope.aliases.has(String(n['relname']).toLowerCase())) hit = true;
    });
    if (
      kind === 'CopyStmt' &&
      (s as ParseNode)['relname'] &&
      scope.aliases.has(String((s as ParseNode)['relname']).toLowerCase())
    )
      hit = true;
    if (hit) return true;
  }
  return false;
}

/** One statement of a parse tree (ExplainStmt and friends included), read against the catalogue. */
export function analyseStatement(node: ParseNode, cat: MaskedCatalogue, scanValues: boolean): Analysis {
  const [kind, body] = (Object.entries(node)[0] ?? ['', {}]) as [string, ParseNode];
  const unknown: string[] = [];
  const scope = scopeOf(node, cat, unknown);
  const a: Analysis = {
    outputs: null,
    names: scope.names,
    anyOutput: null,
    refuse: null,
    copy: null,
    unknown,
    ddl: !READ_ONLY_KINDS.has(kind),
    defines: null,
    uses: null,
  };
  const tainted = scope.names.size > 0 || scope.aliases.size > 0;
  // EXPLAIN ANALYZE runs what it explains: a write inside it is judged as the write.
  const explained =
    kind === 'ExplainStmt' ? (Object.entries((body['query'] as ParseNode | undefined) ?? {})[0] ?? null) : null;
  const [writeKind, writeBody] = explained ? [explained[0], explained[1] as ParseNode] : [kind, body];
  if (tainted && writesTainted(writeKind, writeBody, scope)) {
    a.refuse = 'this statement would store masked columns where they are no longer masked';
    return a;
  }
  if (
    kind === 'SelectStmt' ||
    kind === 'InsertStmt' ||
    kind === 'UpdateStmt' ||
    kind === 'DeleteStmt' ||
    kind === 'MergeStmt'
  ) {
    const { outputs, any } = outputsOf(body, scope, kind !== 'SelectStmt');
    a.outputs = outputs;
    a.anyOutput = any;
  } else if (kind === 'CopyStmt') {
    if (body['is_from'] === true || body['filename'] !== undefined) return a;
    const copy = copyTarget(body, cat, scope);
    a.copy = copy;
    const masks = copy.masks;
    if (copy.options.format === 'binary' && (masks === null || masks.some((m) => m !== null) || scanValues))
      a.refuse = 'COPY in binary format cannot be masked: use FORMAT text or csv';
    else if (masks === null)
      a.refuse =
        copy.why ??
        'COPY of masked data needs its columns listed: COPY (SELECT col, ...) TO STDOUT or COPY table (col, ...) TO STDOUT';
  } else if (kind === 'PrepareStmt') {
    const q = body['query'] as ParseNode | undefined;
    if (q)
      a.defines = {
        kind: 'prepared',
        name: String(body['name']).toLowerCase(),
        analysis: analyseStatement(q, cat, scanValues),
      };
  } else if (kind === 'DeclareCursorStmt') {
    const q = body['query'] as ParseNode | undefined;
    if (q)
      a.defines = {
        kind: 'cursor',
        name: String(body['portalname']).toLowerCase(),
        analysis: analyseStatement(q, cat, scanValues),
      };
  } else if (kind === 'ExecuteStmt') {
    a.uses = { kind: 'prepared', name: String(body['name']).toLowerCase() };
  } else if (kind === 'FetchStmt') {
    a.uses = { kind: 'cursor', name: String(body['portalname']).toLowerCase() };
  } else if (kind === 'ExplainStmt') {
    // EXPLAIN output is plans, not rows; EXPLAIN ANALYZE runs it but returns no data either.
  } else if (tainted && (kind === 'CallStmt' || kind === 'DoStmt')) {
    // A procedure's INOUT results and a DO block's notices are outside what pgward reads (docs/masking.md).
  }
  return a;
}

/** A statement whose text pgward cannot parse, in a masked session: refused, never guessed. */
export const UNPARSED_REFUSAL = 'pgward cannot read this statement to mask its results';
