import { parseStatements } from '../detect/sql-parser.js';
import { analyseStatement } from './analysis.js';
import type { CatalogueQuery, MaskedCatalogue } from './catalogue.js';

/**
 * Views (and materialized views) that read masked columns get masked columns of their own:
 * RowDescription names the view, not the table under it. Each view's definition is read
 * with the same analysis as a statement; a view over such a view follows, to a fixed point.
 */

const DEPENDS_SQL = `SELECT DISTINCT r.ev_class, d.refobjid
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
  AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class AND c.relkind IN ('v', 'm')`;

const MAX_DEPTH = 16;

export async function maskViews(cat: MaskedCatalogue, query: CatalogueQuery): Promise<void> {
  const masked = new Set([...cat.byOid.values()].filter((r) => r.masked.size > 0).map((r) => r.oid));
  if (masked.size === 0) return;
  const reads = new Map<number, number[]>();
  for (const [view, ref] of await query(DEPENDS_SQL)) {
    const v = Number(view);
    const list = reads.get(v);
    if (list) list.push(Number(ref));
    else reads.set(v, [Number(ref)]);
  }
  const done = new Set<number>();
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const next = [...reads.entries()]
      .filter(([v, refs]) => !done.has(v) && refs.some((r) => masked.has(r)))
      .map(([v]) => v);
    if (next.length === 0) return;
    const defs = await query(
      `SELECT c.oid, pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c WHERE c.oid IN (${next.join(',')})`,
    );
    for (const [oidText, def] of defs) {
      const oid = Number(oidText);
      done.add(oid);
      const rel = cat.byOid.get(oid);
      const stmts = def ? parseStatements(def) : null;
      if (!rel) continue;
      const analysis = stmts?.[0] ? analyseStatement(stmts[0], cat, false) : null;
      const cols = [...rel.columns.keys()].sort((a, b) => a - b);
      cols.forEach((attnum, i) => {
        // A view's definition we cannot read masks every column of it: nothing is guessed.
        const mask = analysis
          ? (analysis.outputs?.[i] ?? plainColumn(analysis, rel.columns.get(attnum)!.name))
          : {
              label: `${rel.schema}.${rel.name}.${rel.columns.get(attnum)!.name}`,
              strategy: { strategy: 'redact' as const },
            };
        if (mask) rel.masked.set(attnum, mask);
      });
      if (rel.masked.size > 0) masked.add(oid);
    }
  }
}

/** Without aligned outputs (a `*` in the definition), a view column named like a tainted one is masked. */
function plainColumn(a: ReturnType<typeof analyseStatement>, name: string) {
  return a.outputs ? null : (a.names.get(name.toLowerCase()) ?? null);
}
