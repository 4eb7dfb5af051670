import { SocketMessageReader } from '../net/socket-reader.js';
import { parseFields } from '../protocol/backend-messages.js';
import { Be, TxStatusByte } from '../protocol/constants.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { queryMessage } from '../protocol/frontend-writer.js';
import { backendLimits } from '../protocol/limits.js';
import type { UpstreamConnection } from './connector.js';

export class UpstreamQueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamQueryError';
  }
}

/** Reads one DataRow's text columns (nulls as null). */
export function dataRow(body: Buffer): Array<string | null> {
  const n = body.readInt16BE(0);
  const out: Array<string | null> = [];
  let pos = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', pos, pos + len));
      pos += len;
    }
  }
  return out;
}

/**
 * Runs one simple-protocol Query on an idle upstream connection outside the relay (pool
 * reset, role provisioning) and collects ParameterStatus changes and the rows it returned
 * (text columns). Resolves at ReadyForQuery; the first ErrorResponse rejects there.
 */
export async function runSimpleQuery(
  up: UpstreamConnection,
  sql: string,
  timeoutMs = 5_000,
): Promise<{ parameters: Array<[string, string]>; status: string; rows: Array<Array<string | null>> }> {
  const reader = new SocketMessageReader(up.socket, new FrameReader(backendLimits(1 << 20), 'backend'));
  // Destroyed without an error object: an 'error' event here would have no listener.
  const timer = setTimeout(() => up.socket.destroy(), timeoutMs);
  try {
    up.socket.write(queryMessage(sql));
    const parameters: Array<[string, string]> = [];
    const rows: Array<Array<string | null>> = [];
    let error: UpstreamQueryError | null = null;
    for (;;) {
      const f = await reader.message();
      if (f.type === Be.ParameterStatus) {
        const nul = f.body.indexOf(0);
        parameters.push([f.body.toString('utf8', 0, nul), f.body.toString('utf8', nul + 1, f.body.length - 1)]);
      } else if (f.type === Be.DataRow) {
        rows.push(dataRow(f.body));
      } else if (f.type === Be.ErrorResponse) {
        const e = parseFields(f.body);
        error ??= new UpstreamQueryError(e.code, e.message);
      } else if (f.type === Be.ReadyForQuery) {
        if (error) throw error;
        return { parameters, status: String.fromCharCode(f.body[0] ?? TxStatusByte.Idle), rows };
      }
    }
  } finally {
    clearTimeout(timer);
    const rest = reader.release();
    if (rest.length > 0) up.socket.destroy();
  }
}

export function mergeParameters(
  base: Array<[string, string]>,
  changes: Array<[string, string]>,
): Array<[string, string]> {
  const m = new Map(base);
  for (const [k, v] of changes) m.set(k, v);
  return [...m];
}

/** One ParameterStatus the server sent during a session, recorded on the connection (they are rare). */
export function noteParameter(parameters: Array<[string, string]>, name: string, value: string): void {
  const at = parameters.findIndex(([k]) => k === name);
  if (at >= 0) parameters[at] = [name, value];
  else parameters.push([name, value]);
}
