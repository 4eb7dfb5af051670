import type { ClientText } from './client-text.js';
import { CANCEL_REQUEST_CODE, PROTOCOL_3_0 } from './constants.js';

/**
 * The frontend messages pg-protocol's serializer cannot build the way the gateway needs:
 * its startup message always appends client_encoding, and its cancel key is an Int32.
 */
/** StartupMessage 3.minor with exactly the given parameters (no implicit additions). */
export function startupMessage(params: ReadonlyArray<readonly [string, string]>, minor = 0): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of params) parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeUInt32BE(8 + body.length, 0);
  out.writeUInt32BE(PROTOCOL_3_0 + minor, 4);
  body.copy(out, 8);
  return out;
}

export function cancelRequest(pid: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + key.length);
  out.writeUInt32BE(12 + key.length, 0);
  out.writeUInt32BE(CANCEL_REQUEST_CODE, 4);
  out.writeUInt32BE(pid, 8);
  key.copy(out, 12);
  return out;
}

function typed(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Query: one SQL string. */
export const queryMessage = (sql: string): Buffer => typed('Q', Buffer.from(`${sql}\0`, 'utf8'));

/** Parse with no declared parameter types. */
export function parseMessage(statement: string, sql: string): Buffer {
  const text = Buffer.from(`${statement}\0${sql}\0`, 'utf8');
  const body = Buffer.allocUnsafe(text.length + 2);
  text.copy(body, 0);
  body.writeUInt16BE(0, text.length);
  return typed('P', body);
}

/** A Bind body with its statement name replaced (portal, parameters and formats kept). */
export function rebindMessage(bind: Buffer, statement: string): Buffer {
  const portalEnd = bind.indexOf(0);
  const stmtEnd = bind.indexOf(0, portalEnd + 1);
  return typed(
    'B',
    Buffer.concat([bind.subarray(0, portalEnd + 1), Buffer.from(`${statement}\0`, 'utf8'), bind.subarray(stmtEnd + 1)]),
  );
}

/**
 * The SQL text of a Query body, or of a Parse body with its statement name; null if
 * malformed. Read in the session's client_encoding when given; sql is null when it cannot be.
 */
export function statementText(
  type: 'Q' | 'P',
  body: Buffer,
  text?: ClientText,
): { statement: string; sql: string | null } | null {
  if (type === 'Q') {
    const end = body.indexOf(0);
    return end < 0 ? null : { statement: '', sql: read(body, 0, end, text) };
  }
  const nameEnd = body.indexOf(0);
  if (nameEnd < 0) return null;
  const sqlEnd = body.indexOf(0, nameEnd + 1);
  if (sqlEnd < 0) return null;
  return {
    statement: read(body, 0, nameEnd, text) ?? body.toString('latin1', 0, nameEnd),
    sql: read(body, nameEnd + 1, sqlEnd, text),
  };
}

function read(body: Buffer, start: number, end: number, text: ClientText | undefined): string | null {
  return text ? text.decode(body, start, end) : body.toString('utf8', start, end);
}
