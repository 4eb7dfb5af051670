import { CANCEL_REQUEST_CODE, PROTOCOL_3_0 } from './constants.js';

/**
 * The frontend messages pg-protocol's serializer cannot build the way the gateway needs:
 * its startup message always appends client_encoding, and its cancel key is an Int32.
 */
/** StartupMessage 3.0 with exactly the given parameters (no implicit additions). */
export function startupMessage(params: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of params) parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeUInt32BE(8 + body.length, 0);
  out.writeUInt32BE(PROTOCOL_3_0, 4);
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
