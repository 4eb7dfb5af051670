import { createHash } from 'node:crypto';
import type { MaskingRules } from '../policy/masking-schema.js';
import { globMatch } from '../util/glob.js';
import type { Strategy } from './maskers.js';
import type { ColumnMask } from './row-plan.js';

/**
 * Which columns of a target's database are masked, read from the upstream catalogue: by
 * table OID and attribute number (what RowDescription gives) and by relation name (what a
 * statement's text gives). Views that read masked columns are masked too (views.ts works
 * out which of their columns). Cached per target, database and rules; dropped when a
 * statement through pgward may have changed the schema, and reread at most every minute.
 */

/** Runs one query on the target (as the session's role) and returns its rows as text. */
export type CatalogueQuery = (sql: string) => Promise<Array<Array<string | null>>>;

export interface RelationInfo {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  /** Column names in attribute order (attnum = index + 1 for tables; dropped columns are gaps). */
  columns: Map<number, { name: string; typeOid: number }>;
  /** Masked columns by attnum. */
  masked: Map<number, ColumnMask>;
}

export interface MaskedCatalogue {
  byOid: Map<number, RelationInfo>;
  /** Lower-case relation name → every relation of that name (any schema). */
  byName: Map<string, RelationInfo[]>;
  loadedAt: number;
}

const COLUMNS_SQL = `SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname, a.atttypid
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
ORDER BY c.oid, a.attnum`;

/** The rule (first match wins, in policy order) that masks schema.table.column, if any. */
export function columnMaskFor(rules: MaskingRules, schema: string, table: string, column: string): ColumnMask | null {
  const full = `${schema}.${table}.${column}`;
  for (const r of rules.columns) {
    const globs = r.column !== undefined ? [r.column] : (rules.labels[r.label ?? ''] ?? []);
    if (globs.some((g) => globMatch(g, full))) {
      const strategy: Strategy = { strategy: r.strategy, text: r.text, keep: r.keep };
      return { label: full, strategy };
    }
  }
  return null;
}

export async function loadCatalogue(
  rules: MaskingRules,
  query: CatalogueQuery,
  views: (cat: MaskedCatalogue, query: CatalogueQuery) => Promise<void>,
): Promise<MaskedCatalogue> {
  const rows = await query(COLUMNS_SQL);
  const byOid = new Map<number, RelationInfo>();
  const byName = new Map<string, RelationInfo[]>();
  for (const [oidText, schema, name, kind, attnum, attname, typ] of rows) {
    const oid = Number(oidText);
    let rel = byOid.get(oid);
    if (!rel) {
      rel = { oid, schema: schema!, name: name!, kind: kind!, columns: new Map(), masked: new Map() };
      byOid.set(oid, rel);
      const key = name!.toLowerCase();
      const list = byName.get(key);
      if (list) list.push(rel);
      else byName.set(key, [rel]);
    }
    const n = Number(attnum);
    rel.columns.set(n, { name: attname!, typeOid: Number(typ) });
    const mask = columnMaskFor(rules, rel.schema, rel.name, attname!);
    if (mask) rel.masked.set(n, mask);
  }
  const cat: MaskedCatalogue = { byOid, byName, loadedAt: Date.now() };
  await views(cat, query);
  return cat;
}

/** How long a catalogue is trusted without a statement through pgward that changes the schema. */
export const CATALOGUE_MAX_AGE_MS = 60_000;

interface Entry {
  current: MaskedCatalogue | null;
  loading: Promise<MaskedCatalogue> | null;
  stale: boolean;
}

/** The catalogues of every target a gateway masks, shared by its sessions. */
export class CatalogueCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  static key(target: string, database: string, rules: MaskingRules): string {
    const digest = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 16);
    return `${target}\u0000${database}\u0000${digest}`;
  }

  /** The catalogue if it can be used now (loaded, fresh, not invalidated); else null. */
  ready(key: string): MaskedCatalogue | null {
    const e = this.entries.get(key);
    if (!e?.current || e.stale) return null;
    if (this.now() - e.current.loadedAt > CATALOGUE_MAX_AGE_MS) return null;
    return e.current;
  }

  /** The last catalogue loaded, fresh or not (what a row already on its way is planned with). */
  last(key: string): MaskedCatalogue | null {
    return this.entries.get(key)?.current ?? null;
  }

  /** Loads (once, however many sessions ask) and keeps it. */
  load(key: string, load: () => Promise<MaskedCatalogue>): Promise<MaskedCatalogue> {
    let e = this.entries.get(key);
    if (!e) {
      e = { current: null, loading: null, stale: true };
      this.entries.set(key, e);
    }
    const entry = e;
    entry.loading ??= load().then(
      (cat) => {
        entry.current = cat;
        entry.stale = false;
        entry.loading = null;
        return cat;
      },
      (err: unknown) => {
        entry.loading = null;
        throw err;
      },
    );
    return entry.loading;
  }

  /** A statement may have changed the schema: the next statement waits for a fresh read. */
  invalidate(key: string): void {
    const e = this.entries.get(key);
    if (e) e.stale = true;
  }
}
