/**
 * The few message fields masking reads, straight from the bodies the relay already holds
 * (no copies): RowDescription's columns, Bind's portal and result formats, Describe's target.
 */

export interface Field {
  name: string;
  tableOid: number;
  attnum: number;
  typeOid: number;
  /** 0 text, 1 binary (always 0 in the answer to a Describe of a statement). */
  format: number;
}

export function parseRowDescription(body: Buffer): Field[] {
  const n = body.readInt16BE(0);
  const fields: Field[] = [];
  let pos = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, pos);
    if (end < 0 || end + 19 > body.length) break;
    const name = body.toString('utf8', pos, end);
    pos = end + 1;
    fields.push({
      name,
      tableOid: body.readUInt32BE(pos),
      attnum: body.readInt16BE(pos + 4),
      typeOid: body.readUInt32BE(pos + 6),
      format: body.readInt16BE(pos + 16),
    });
    pos += 18;
  }
  return fields;
}

/** Bind: portal, statement and result format codes; null when malformed (Postgres refuses it). */
export function bindPortal(body: Buffer): { portal: string; statement: string; formats: number[] } | null {
  try {
    const portalEnd = body.indexOf(0);
    const stmtEnd = body.indexOf(0, portalEnd + 1);
    if (portalEnd < 0 || stmtEnd < 0) return null;
    let pos = stmtEnd + 1;
    const nParamFormats = body.readInt16BE(pos);
    pos += 2 + 2 * nParamFormats;
    const nParams = body.readInt16BE(pos);
    pos += 2;
    for (let i = 0; i < nParams; i++) {
      const len = body.readInt32BE(pos);
      pos += 4 + Math.max(0, len);
    }
    const nResult = body.readInt16BE(pos);
    pos += 2;
    const formats: number[] = [];
    for (let i = 0; i < nResult; i++) formats.push(body.readInt16BE(pos + 2 * i));
    return {
      portal: body.toString('utf8', 0, portalEnd),
      statement: body.toString('utf8', portalEnd + 1, stmtEnd),
      formats,
    };
  } catch {
    return null;
  }
}

/** Describe and Close: 'S' or 'P' and the name. */
export function describeTarget(body: Buffer): { kind: 'S' | 'P'; name: string } | null {
  const kind = String.fromCharCode(body[0] ?? 0);
  const end = body.indexOf(0, 1);
  if ((kind !== 'S' && kind !== 'P') || end < 0) return null;
  return { kind, name: body.toString('utf8', 1, end) };
}
