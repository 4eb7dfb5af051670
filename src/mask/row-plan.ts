import { DEFAULT_REDACTION, maskRecognised, maskValue, type CompiledValueRule, type Strategy } from './maskers.js';

/**
 * What happens to each column of a result: decided once per RowDescription (and result
 * formats), then applied to every DataRow of it without looking anything up.
 */

export const enum Op {
  Pass = 0,
  /** Replace the whole value by the strategy's text (a text-like type, either format). */
  Whole = 1,
  /** Replace by SQL NULL (a masked column whose type cannot carry a redacted text, or strategy null). */
  Null = 2,
  /** Run the value recognisers over the text (from `skip` bytes on: binary jsonb's version byte). */
  Scan = 3,
}

/** A column that comes from a masked column, directly or through an expression. */
export interface ColumnMask {
  /** What the audit names: schema.table.column, or several joined by "+". */
  label: string;
  strategy: Strategy;
}

export interface RowPlan {
  ops: Uint8Array;
  /** Bytes to skip before scanning (binary jsonb: 1), per column. */
  skip: Uint8Array;
  masks: Array<ColumnMask | null>;
  /** Whether any column is not Pass: rows of a plan that masks nothing are never looked at. */
  active: boolean;
}

/** Types whose text (and binary) form is the value's characters. */
const TEXT_TYPES = new Set([25, 1043, 1042, 19, 142, 705]);
const JSON_TYPE = 114;
const JSONB_TYPE = 3802;
/** Scalars whose text form cannot hold a recognisable value (numbers, times, booleans, uuids). */
const NO_TEXT = new Set([16, 20, 21, 23, 26, 700, 701, 1700, 1082, 1083, 1114, 1184, 1186, 1266, 2950, 3220, 790]);
/** Binary forms that can hold text the recognisers cannot read in place (arrays of text, records, user types). */
function binaryOpaque(typeOid: number): boolean {
  return (
    typeOid === 1009 ||
    typeOid === 1015 ||
    typeOid === 1014 ||
    typeOid === 199 ||
    typeOid === 3807 ||
    typeOid === 2249 ||
    typeOid >= 16384
  );
}

export interface ResultColumn {
  typeOid: number;
  /** 0 text, 1 binary. */
  format: number;
}

/** The plan for one result: per column, its mask (from column rules or expressions) and format. */
export function planRow(
  columns: readonly ResultColumn[],
  masks: ReadonlyArray<ColumnMask | null>,
  scanValues: boolean,
): RowPlan {
  const n = columns.length;
  const ops = new Uint8Array(n);
  const skip = new Uint8Array(n);
  let active = false;
  for (let i = 0; i < n; i++) {
    const { typeOid, format } = columns[i]!;
    const mask = masks[i] ?? null;
    let op = Op.Pass;
    if (mask) {
      // Only a text-like type can carry a redacted text in its own format; others become NULL.
      op = mask.strategy.strategy !== 'null' && TEXT_TYPES.has(typeOid) ? Op.Whole : Op.Null;
    } else if (scanValues) {
      if (TEXT_TYPES.has(typeOid) || typeOid === JSON_TYPE) op = Op.Scan;
      else if (typeOid === JSONB_TYPE) {
        op = Op.Scan;
        if (format === 1) skip[i] = 1;
      } else if (format === 0) op = NO_TEXT.has(typeOid) ? Op.Pass : Op.Scan;
      // A binary array of text, a record or an unknown type may hold a recognisable value
      // that cannot be read in place: NULL rather than shown unread.
      else op = binaryOpaque(typeOid) ? Op.Null : Op.Pass;
    }
    ops[i] = op;
    if (op !== Op.Pass) active = true;
  }
  return { ops, skip, masks: [...masks], active };
}

/** Everything a row rewrite needs besides the plan; `hits` counts masked values per label. */
export interface MaskContext {
  key: Buffer;
  values: readonly CompiledValueRule[];
  hits: Map<string, number>;
}

function count(hits: Map<string, number>, label: string): void {
  hits.set(label, (hits.get(label) ?? 0) + 1);
}

/**
 * A DataRow body rewritten by the plan: the whole new frame (type and length fixed up), or
 * null when no value changed (the original bytes go on untouched). One allocation per
 * changed row; unchanged values are copied as they are.
 */
export function rewriteDataRow(body: Buffer, plan: RowPlan, ctx: MaskContext): Buffer | null {
  const n = body.readInt16BE(0);
  if (n !== plan.ops.length) {
    if (n === 0) return null;
    ctx.hits.set('undescribed', (ctx.hits.get('undescribed') ?? 0) + n);
    return nullRow(n);
  }
  let pos = 2;
  // New values as strings (written straight into the new frame) or, with a kept prefix, bytes.
  let replaced: Array<string | Buffer | null | undefined> | null = null;
  let delta = 0;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(pos);
    const start = pos + 4;
    pos = start + Math.max(0, len);
    const op = plan.ops[i]!;
    if (op === Op.Pass || len < 0) continue;
    let out: string | Buffer | null;
    if (op === Op.Null) {
      out = null;
      count(ctx.hits, plan.masks[i]?.label ?? 'unreadable-binary');
    } else if (op === Op.Whole) {
      const mask = plan.masks[i]!;
      out = maskValue(body.toString('utf8', start, pos), mask.strategy, ctx.key);
      count(ctx.hits, mask.label);
    } else {
      const skip = plan.skip[i]!;
      const masked = maskRecognised(body.toString('utf8', start + skip, pos), ctx.values, ctx.key, ctx.hits);
      if (masked === null) continue;
      out = skip ? Buffer.concat([body.subarray(start, start + skip), Buffer.from(masked, 'utf8')]) : masked;
    }
    replaced ??= new Array<string | Buffer | null | undefined>(n);
    replaced[i] = out;
    delta +=
      (out === null ? 0 : typeof out === 'string' ? Buffer.byteLength(out, 'utf8') : out.length) - Math.max(0, len);
  }
  if (!replaced) return null;
  const frame = Buffer.allocUnsafe(5 + body.length + delta);
  frame[0] = 0x44; // 'D'
  frame.writeUInt32BE(4 + body.length + delta, 1);
  body.copy(frame, 5, 0, 2);
  let w = 7;
  pos = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(pos);
    const end = pos + 4 + Math.max(0, len);
    const r = replaced[i];
    if (r === undefined) {
      body.copy(frame, w, pos, end);
      w += end - pos;
    } else if (r === null) {
      frame.writeInt32BE(-1, w);
      w += 4;
    } else if (typeof r === 'string') {
      const written = frame.write(r, w + 4, 'utf8');
      frame.writeInt32BE(written, w);
      w += 4 + written;
    } else {
      frame.writeInt32BE(r.length, w);
      r.copy(frame, w + 4);
      w += 4 + r.length;
    }
    pos = end;
  }
  return frame;
}

/** A row whose shape does not match its description: nothing of it is shown (never happens with a sane server). */
function nullRow(n: number): Buffer {
  const frame = Buffer.alloc(5 + 2 + 4 * n);
  frame[0] = 0x44;
  frame.writeUInt32BE(frame.length - 1, 1);
  frame.writeInt16BE(n, 5);
  for (let i = 0; i < n; i++) frame.writeInt32BE(-1, 7 + 4 * i);
  return frame;
}

export { DEFAULT_REDACTION };
