import { literalKey } from '../detect/literal-key.js';
import { parseFailure, parseStatements } from '../detect/sql-parser.js';
import type { MaskingRules } from '../policy/masking-schema.js';
import type { BlockVerdict } from '../relay/observer.js';
import type { RelayMasker } from '../relay/masker.js';
import { analyseStatement, UNPARSED_REFUSAL, type Analysis } from './analysis.js';
import { CatalogueCache, loadCatalogue, type CatalogueQuery, type MaskedCatalogue } from './catalogue.js';
import { maskCopyRow, type CopyPlan } from './copy-out.js';
import { compileValueRule, type CompiledValueRule } from './maskers.js';
import { maskNotice } from './notice.js';
import { bindPortal, describeTarget, parseRowDescription, type Field } from './messages.js';
import { planRow, rewriteDataRow, type ColumnMask, type MaskContext, type RowPlan } from './row-plan.js';
import { maskViews } from './views.js';

/** Frontend and backend type bytes this module reads (protocol/constants.ts has them all). */
const Q = 0x51;
const BIND = 0x42;
const DESCRIBE = 0x44;
const EXECUTE = 0x45;
const CLOSE = 0x43;
const SYNC = 0x53;
const ROW_DESCRIPTION = 0x54;
const DATA_ROW = 0x44;
const NO_DATA = 0x6e;
const COMMAND_COMPLETE = 0x43;
const EMPTY_QUERY = 0x49;
const PORTAL_SUSPENDED = 0x73;
const ERROR_RESPONSE = 0x45;
const NOTICE_RESPONSE = 0x4e;
const READY = 0x5a;
const COPY_OUT = 0x48;
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;

export interface SessionMaskingSpec {
  rules: MaskingRules;
  /** The key of the keyed-hash strategy (derived from the gateway's secret). */
  key: Buffer;
  /** Reads the target's catalogue as the session's role; only used with column rules. */
  catalogue: CatalogueQuery;
  cache: CatalogueCache;
  /** Target, database: which cache entry. */
  target: string;
  database: string;
}

/** What the client asked, in order: the backend answers them in the same order. */
type Op =
  | { kind: 'query'; analyses: Analysis[] | null; index: number }
  | { kind: 'describe-statement'; name: string }
  | { kind: 'describe-portal'; name: string }
  | { kind: 'execute'; name: string }
  | { kind: 'sync' };

interface Statement {
  analysis: Analysis | null;
  fields: Field[] | null;
}

interface Portal {
  statement: string;
  /** Result format codes from Bind: none (all text), one (all alike) or one per column. */
  formats: number[];
  fields: Field[] | null;
  plan: RowPlan | null;
}

const refusal = (message: string, detail?: string): BlockVerdict => ({
  action: 'block',
  code: '42501',
  message,
  detail,
});

/**
 * One masked session's view of its results: which statement each RowDescription, DataRow
 * and CopyData answers, the mask plan of each result, and the rows rewritten by it. The
 * relay shows it only frames that shape results; rows are asked for only while a result
 * masks something.
 */
export class SessionMasker implements RelayMasker {
  private readonly values: CompiledValueRule[];
  private readonly scanValues: boolean;
  private readonly columnRules: boolean;
  private readonly cacheKey: string;
  private readonly ctx: MaskContext;
  private major: number | undefined;
  private readonly ops: Op[] = [];
  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  /** PREPARE and DECLARE CURSOR in SQL: what their EXECUTE and FETCH read. */
  private readonly sqlDefined = new Map<string, Analysis>();
  /** The Query just shown to `statement`: the op its frame opens carries it. */
  private lastQuery: Analysis[] | null = null;
  /** The plan of the rows now arriving (null: nothing masked, rows stream untouched). */
  private rows: RowPlan | null = null;
  private copy: CopyPlan | null = null;
  private catalogueError: string | null = null;
  private ddlInCycle = false;

  constructor(private readonly spec: SessionMaskingSpec) {
    this.values = spec.rules.values.map(compileValueRule);
    this.scanValues = this.values.length > 0;
    this.columnRules = spec.rules.columns.length > 0;
    this.cacheKey = CatalogueCache.key(spec.target, spec.database, spec.rules);
    this.ctx = { key: spec.key, values: this.values, hits: new Map() };
  }

  private loadCatalogue(): Promise<void> {
    const { rules, catalogue, cache } = this.spec;
    return cache
      .load(this.cacheKey, () => loadCatalogue(rules, catalogue, maskViews))
      .then(
        () => void (this.catalogueError = null),
        (err: unknown) => void (this.catalogueError = (err as Error).message),
      );
  }

  prepare(sql: string): Promise<void> | null {
    if (!this.columnRules) return null;
    const { cache } = this.spec;
    const ready = cache.ready(this.cacheKey);
    if (!ready) return this.loadCatalogue();
    // A relation the catalogue does not know may be new: read it again (not more than once a second).
    if (Date.now() - ready.loadedAt > 1_000 && this.unknownRelations(sql, ready)) {
      cache.invalidate(this.cacheKey);
      return this.loadCatalogue();
    }
    return null;
  }

  private unknownRelations(sql: string, cat: MaskedCatalogue): boolean {
    return this.analyse(sql, cat)?.some((a) => a.unknown.length > 0) ?? false;
  }

  /**
   * The analyses of a text's statements, null when it does not parse. Texts that differ only
   * in plain literals share one (detect/literal-key.ts), per catalogue: pgbench -S parses once.
   * COPY is not shared (its options are literals).
   */
  private analyse(sql: string, cat: MaskedCatalogue): Analysis[] | null {
    let cache = analysisCache.get(cat);
    if (!cache) analysisCache.set(cat, (cache = new Map()));
    const key = literalKey(sql) ?? sql;
    const known = cache.get(key);
    if (known && known.scan === this.scanValues) return known.analyses;
    const stmts = parseStatements(sql, this.major);
    if (!stmts) return null;
    const analyses = stmts.map((s) => analyseStatement(s, cat, this.scanValues));
    if (!analyses.some((a) => a.copy)) {
      if (cache.size >= ANALYSIS_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(key, { scan: this.scanValues, analyses });
    }
    return analyses;
  }

  setting(name: string, value: string): void {
    if (name === 'server_version') {
      const major = Number(/^(\d+)/.exec(value)?.[1]);
      if (major > 0) this.major = major;
    }
  }

  statement(kind: 'Q' | 'P', sql: string | null, name: string): BlockVerdict | null {
    if (kind === 'Q') this.lastQuery = null;
    if (sql === null) return refusal(UNPARSED_REFUSAL);
    const cat = this.columnRules ? this.spec.cache.last(this.cacheKey) : EMPTY_CATALOGUE;
    if (!cat)
      return refusal(
        'pgward could not read the database catalogue to mask this session',
        this.catalogueError ?? undefined,
      );
    const analyses = this.analyse(sql, cat);
    if (!analyses) return refusal(UNPARSED_REFUSAL, parseFailure(sql, this.major)?.message);
    const refused = analyses.find((a) => a.refuse);
    if (refused) return refusal(`${refused.refuse!} (data masking)`);
    for (const a of analyses) {
      if (a.ddl) {
        this.ddlInCycle = true;
        this.spec.cache.invalidate(this.cacheKey);
      }
      if (a.defines) this.sqlDefined.set(`${a.defines.kind}:${a.defines.name}`, a.defines.analysis);
    }
    if (kind === 'Q') this.lastQuery = analyses;
    // An extended-protocol statement is one statement (Postgres refuses more).
    else this.statements.set(name, { analysis: analyses[0] ?? null, fields: null });
    return null;
  }

  clientFrame(type: number, body: Buffer): void {
    switch (type) {
      case Q:
        this.ops.push({ kind: 'query', analyses: this.lastQuery, index: 0 });
        this.lastQuery = null;
        return;
      case BIND: {
        const b = bindPortal(body);
        if (b)
          this.portals.set(b.portal, {
            statement: b.statement,
            formats: b.formats,
            fields: null,
            plan: null,
          });
        return;
      }
      case DESCRIBE: {
        const d = describeTarget(body);
        if (d) this.ops.push({ kind: d.kind === 'S' ? 'describe-statement' : 'describe-portal', name: d.name });
        return;
      }
      case EXECUTE: {
        // Execute: the portal's name, then the row limit.
        const end = body.indexOf(0);
        this.ops.push({ kind: 'execute', name: end < 0 ? '' : body.toString('utf8', 0, end) });
        return;
      }
      case CLOSE: {
        const d = describeTarget(body);
        if (d?.kind === 'S') this.statements.delete(d.name);
        else if (d) this.portals.delete(d.name);
        return;
      }
      case SYNC:
        this.ops.push({ kind: 'sync' });
        return;
    }
  }

  wantsBody(type: number): boolean {
    switch (type) {
      case DATA_ROW:
        return this.currentRows() !== null;
      case COPY_DATA:
        return this.copy !== null;
      case ROW_DESCRIPTION:
      case COPY_OUT:
      case ERROR_RESPONSE:
      case NOTICE_RESPONSE:
        return true;
      default:
        return false;
    }
  }

  serverFrame(type: number, body: Buffer | null): Buffer | null | 'end' {
    switch (type) {
      case DATA_ROW: {
        const rows = this.currentRows();
        return rows && body ? rewriteDataRow(body, rows, this.ctx) : null;
      }
      case COPY_DATA: {
        if (!this.copy || !body) return null;
        const masked = maskCopyRow(body, this.copy, this.ctx);
        return masked ? frame(COPY_DATA, masked) : null;
      }
      case ROW_DESCRIPTION:
        if (body) this.onRowDescription(parseRowDescription(body));
        return null;
      case NO_DATA:
        if (this.head()?.kind.startsWith('describe')) this.ops.shift();
        return null;
      case COMMAND_COMPLETE:
      case EMPTY_QUERY:
      case PORTAL_SUSPENDED:
        this.rows = null;
        this.copy = null;
        this.endStatement();
        return null;
      case COPY_OUT:
        return body ? this.onCopyOut(body) : null;
      case COPY_DONE:
        this.copy = null;
        return null;
      case ERROR_RESPONSE: {
        this.rows = null;
        this.copy = null;
        // The extended protocol skips to Sync; a simple Query ends at its ReadyForQuery.
        while (this.ops.length > 0 && this.head()!.kind !== 'sync' && this.head()!.kind !== 'query') this.ops.shift();
        return body ? this.notice(type, body) : null;
      }
      case NOTICE_RESPONSE:
        return body ? this.notice(type, body) : null;
      case READY: {
        const head = this.head();
        if (head?.kind === 'query' || head?.kind === 'sync') this.ops.shift();
        this.rows = null;
        this.copy = null;
        if (this.ddlInCycle) {
          this.ddlInCycle = false;
          this.spec.cache.invalidate(this.cacheKey);
        }
        return null;
      }
      default:
        return null;
    }
  }

  cycleDone(): Record<string, number> | null {
    const hits = this.ctx.hits;
    if (hits.size === 0) return null;
    const out = Object.fromEntries(hits);
    hits.clear();
    return out;
  }

  private head(): Op | undefined {
    return this.ops[0];
  }

  private notice(type: number, body: Buffer): Buffer | null {
    const masked = maskNotice(body, this.ctx, this.columnRules);
    return masked ? frame(type, masked) : null;
  }

  /** The statement of a Query moves on; an Execute is answered. */
  private endStatement(): void {
    const head = this.head();
    if (head?.kind === 'query') head.index++;
    else if (head?.kind === 'execute') this.ops.shift();
  }

  private currentAnalysis(): Analysis | null {
    const head = this.head();
    if (head?.kind === 'query') return this.resolve(head.analyses?.[head.index] ?? null);
    if (head?.kind === 'execute') {
      const portal = this.portals.get(head.name);
      return portal ? this.resolve(this.statements.get(portal.statement)?.analysis ?? null) : null;
    }
    return null;
  }

  /** EXECUTE and FETCH read what PREPARE and DECLARE defined. */
  private resolve(a: Analysis | null): Analysis | null {
    if (!a?.uses) return a;
    return this.sqlDefined.get(`${a.uses.kind}:${a.uses.name}`) ?? null;
  }

  private onRowDescription(fields: Field[]): void {
    const head = this.head();
    if (head?.kind === 'describe-statement') {
      this.ops.shift();
      const s = this.statements.get(head.name);
      if (s) s.fields = fields;
      return;
    }
    if (head?.kind === 'describe-portal') {
      this.ops.shift();
      const portal = this.portals.get(head.name);
      if (portal) {
        portal.fields = fields;
        const s = this.statements.get(portal.statement);
        // A later Bind of the statement may come without a Describe (pgjdbc): its columns are these.
        if (s && !s.fields) s.fields = fields.map((f) => ({ ...f, format: 0 }));
        portal.plan = this.plan(fields, this.resolve(s?.analysis ?? null));
      }
      return;
    }
    if (head?.kind === 'query') this.rows = active(this.plan(fields, this.currentAnalysis()));
  }

  /** Rows of an Execute: planned from its portal's description, or its statement's with Bind's formats. */
  private executePlan(): RowPlan | null {
    const head = this.head();
    if (head?.kind !== 'execute') return null;
    const portal = this.portals.get(head.name);
    if (!portal) return null;
    if (!portal.plan) {
      const s = this.statements.get(portal.statement);
      const fields = s?.fields?.map((f, i) => ({ ...f, format: formatOf(portal.formats, i) })) ?? null;
      // Rows whose columns were never described: nothing of them is shown unread.
      portal.plan = fields ? this.plan(fields, this.resolve(s?.analysis ?? null)) : UNDESCRIBED;
    }
    return portal.plan;
  }

  /** Per field: its column's mask (table OID and attnum), or the analysis's for a computed one. */
  private plan(fields: Field[], analysis: Analysis | null): RowPlan {
    const cat = this.columnRules ? this.spec.cache.last(this.cacheKey) : null;
    const aligned = analysis?.outputs && analysis.outputs.length === fields.length ? analysis.outputs : null;
    const masks = fields.map((f, i): ColumnMask | null => {
      if (!this.columnRules) return null;
      if (f.tableOid !== 0) {
        const rel = cat?.byOid.get(f.tableOid);
        // A relation created since the catalogue was read: nothing of it is shown unread.
        if (!rel) return { label: `relation ${f.tableOid}.${f.name}`, strategy: { strategy: 'redact' } };
        return rel.masked.get(f.attnum) ?? null;
      }
      if (!analysis) return { label: `unknown.${f.name}`, strategy: { strategy: 'redact' } };
      if (aligned) return aligned[i] ?? null;
      return analysis.names.get(f.name.toLowerCase()) ?? analysis.anyOutput;
    });
    return planRow(fields, masks, this.scanValues);
  }

  private onCopyOut(body: Buffer): Buffer | null | 'end' {
    const analysis = this.currentAnalysis();
    const binary = body[0] === 1;
    const copy = analysis?.copy ?? null;
    if (binary) {
      // Refused when the statement was read; here only if it slipped through (never passed on).
      return this.columnRules || this.scanValues ? 'end' : null;
    }
    if (!copy || !copy.masks) {
      this.copy = this.columnRules || this.scanValues ? unknownCopy(body, this.scanValues) : null;
      return null;
    }
    const plan: CopyPlan = {
      options: copy.options,
      masks: copy.masks,
      scan: this.scanValues,
      headerPending: copy.options.header,
    };
    this.copy = plan.scan || plan.masks.some((m) => m) ? plan : null;
    return null;
  }

  /** The plan of the rows now arriving: a Query's from its RowDescription, an Execute's from its portal. */
  private currentRows(): RowPlan | null {
    const head = this.head();
    if (head?.kind === 'execute') return active(this.executePlan());
    return this.rows;
  }
}

/** Analyses by literal shape, per catalogue (a reread catalogue starts afresh). */
const analysisCache = new WeakMap<MaskedCatalogue, Map<string, { scan: boolean; analyses: Analysis[] }>>();
const ANALYSIS_CACHE_SIZE = 2_000;

/** A plan of no columns: rewriteDataRow makes every value of such a row NULL. */
const UNDESCRIBED: RowPlan = { ops: new Uint8Array(0), skip: new Uint8Array(0), masks: [], active: true };

const EMPTY_CATALOGUE: MaskedCatalogue = { byOid: new Map(), byName: new Map(), loadedAt: 0 };

function active(plan: RowPlan | null): RowPlan | null {
  return plan?.active ? plan : null;
}

function formatOf(formats: number[], i: number): number {
  if (formats.length === 0) return 0;
  return formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
}

/** COPY whose columns could not be lined up: every field masked (this is refused before it runs). */
function unknownCopy(body: Buffer, scan: boolean): CopyPlan {
  const n = body.readInt16BE(1);
  const mask: ColumnMask = { label: 'copy', strategy: { strategy: 'redact' } };
  return {
    options: { format: 'text', delimiter: '\t', nullString: '\\N', quote: '"', escape: '"', header: false },
    masks: Array.from({ length: n }, () => mask),
    scan,
    headerPending: false,
  };
}

function frame(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
