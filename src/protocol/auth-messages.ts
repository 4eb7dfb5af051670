import { protocolViolation } from './errors.js';

/** PasswordMessage: one NUL-terminated string filling the body exactly. */
export function parsePasswordMessage(body: Buffer): string {
  const nul = body.indexOf(0);
  if (nul !== body.length - 1) throw protocolViolation('invalid password packet size');
  return body.toString('utf8', 0, nul);
}

export interface SASLInitialResponse {
  mechanism: string;
  /** null when the client sent length -1 (no initial response). */
  data: Buffer | null;
}

export function parseSASLInitialResponse(body: Buffer): SASLInitialResponse {
  const nul = body.indexOf(0);
  if (nul < 0) throw protocolViolation('invalid string in message');
  const mechanism = body.toString('utf8', 0, nul);
  let at = nul + 1;
  if (body.length - at < 4) throw protocolViolation('insufficient data left in message');
  const length = body.readInt32BE(at);
  at += 4;
  if (length === -1) {
    if (at !== body.length) throw protocolViolation('invalid message format');
    return { mechanism, data: null };
  }
  if (length < 0 || length > body.length - at) {
    throw protocolViolation('insufficient data left in message');
  }
  if (at + length !== body.length) throw protocolViolation('invalid message format');
  return { mechanism, data: body.subarray(at, at + length) };
}
