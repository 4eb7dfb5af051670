import { AuthCode, Be, type TransactionStatus } from './constants.js';
import type { Severity } from './errors.js';

/**
 * Builders for every message the gateway itself sends to a client. Each returns one
 * exactly sized Buffer so a reply can be written (or corked together) without copies.
 */

function message(type: number, bodyLength: number): { buf: Buffer; at: number } {
  const buf = Buffer.allocUnsafe(5 + bodyLength);
  buf[0] = type;
  buf.writeUInt32BE(4 + bodyLength, 1);
  return { buf, at: 5 };
}

const cstrLength = (s: string): number => Buffer.byteLength(s, 'utf8') + 1;

function writeCString(buf: Buffer, at: number, s: string): number {
  at += buf.write(s, at, 'utf8');
  buf[at] = 0;
  return at + 1;
}

export const sslAccepted = (): Buffer => Buffer.from('S');
export const sslRefused = (): Buffer => Buffer.from('N');

function authentication(code: number, extra: Buffer | null): Buffer {
  const { buf, at } = message(Be.Authentication, 4 + (extra?.length ?? 0));
  buf.writeUInt32BE(code, at);
  extra?.copy(buf, at + 4);
  return buf;
}

export const authenticationOk = (): Buffer => authentication(AuthCode.Ok, null);
export const authenticationCleartextPassword = (): Buffer => authentication(AuthCode.CleartextPassword, null);

export function authenticationSASL(mechanisms: readonly string[]): Buffer {
  const list = Buffer.from(mechanisms.map((m) => `${m}\0`).join('') + '\0', 'utf8');
  return authentication(AuthCode.SASL, list);
}

export const authenticationSASLContinue = (data: string): Buffer =>
  authentication(AuthCode.SASLContinue, Buffer.from(data, 'utf8'));

export const authenticationSASLFinal = (data: string): Buffer =>
  authentication(AuthCode.SASLFinal, Buffer.from(data, 'utf8'));

export function parameterStatus(name: string, value: string): Buffer {
  const { buf, at } = message(Be.ParameterStatus, cstrLength(name) + cstrLength(value));
  writeCString(buf, writeCString(buf, at, name), value);
  return buf;
}

export function backendKeyData(pid: number, key: Buffer): Buffer {
  const { buf, at } = message(Be.BackendKeyData, 4 + key.length);
  buf.writeUInt32BE(pid, at);
  key.copy(buf, at + 4);
  return buf;
}

export function readyForQuery(status: TransactionStatus): Buffer {
  const { buf, at } = message(Be.ReadyForQuery, 1);
  buf[at] = status.charCodeAt(0);
  return buf;
}

/** NegotiateProtocolVersion: the newest minor we speak and the options we did not recognise. */
export function negotiateProtocolVersion(minor: number, unsupported: readonly string[]): Buffer {
  const names = unsupported.reduce((n, s) => n + cstrLength(s), 0);
  const { buf, at } = message(Be.NegotiateProtocolVersion, 8 + names);
  buf.writeUInt32BE((3 << 16) | minor, at);
  buf.writeUInt32BE(unsupported.length, at + 4);
  let p = at + 8;
  for (const name of unsupported) p = writeCString(buf, p, name);
  return buf;
}

export interface NoticeFields {
  severity: Severity;
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
  /** 1-based character position in the statement text (psql draws its LINE caret from it). */
  position?: number | undefined;
}

/** ErrorResponse / NoticeResponse always carry S, V, C and M (clients dereference C). */
function fieldsMessage(type: number, f: NoticeFields): Buffer {
  const pairs: Array<[string, string]> = [
    ['S', f.severity],
    ['V', f.severity],
    ['C', f.code],
    ['M', f.message],
  ];
  if (f.detail !== undefined) pairs.push(['D', f.detail]);
  if (f.hint !== undefined) pairs.push(['H', f.hint]);
  if (f.position !== undefined) pairs.push(['P', String(f.position)]);
  const size = pairs.reduce((n, [, v]) => n + 1 + cstrLength(v), 1);
  const { buf, at } = message(type, size);
  let p = at;
  for (const [code, value] of pairs) {
    buf[p++] = code.charCodeAt(0);
    p = writeCString(buf, p, value);
  }
  buf[p] = 0;
  return buf;
}

export const errorResponse = (f: NoticeFields): Buffer => fieldsMessage(Be.ErrorResponse, f);
export const noticeResponse = (f: NoticeFields): Buffer => fieldsMessage(Be.NoticeResponse, f);
