import { AuthCode, Be, type TransactionStatus } from './constants.js';
import type { Frame } from './frame-reader.js';

/** Decoded handshake messages from an upstream server (the gateway acting as client). */
export type HandshakeMessage =
  | { type: 'auth'; code: number; data: Buffer }
  | { type: 'parameter'; name: string; value: string }
  | { type: 'key'; pid: number; key: Buffer }
  | { type: 'ready'; status: TransactionStatus }
  | { type: 'error'; fields: ServerFields }
  | { type: 'notice'; fields: ServerFields }
  | { type: 'negotiate'; version: number; options: string[] };

export interface ServerFields {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  [field: string]: string | undefined;
}

export class BackendMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendMessageError';
  }
}

const FIELD_NAMES: Record<string, string> = {
  S: 'localSeverity',
  V: 'severity',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  P: 'position',
  W: 'where',
};

/** Error and notice fields; a missing C or M is filled in rather than trusted (pgbouncer CVE-2026-6666). */
export function parseFields(body: Buffer): ServerFields {
  const fields: ServerFields = { severity: 'ERROR', code: 'XX000', message: '(no message)' };
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]!);
    const end = body.indexOf(0, pos + 1);
    if (end < 0) throw new BackendMessageError('unterminated error field');
    const value = body.toString('utf8', pos + 1, end);
    const name = FIELD_NAMES[code];
    if (name) fields[name] = value;
    pos = end + 1;
  }
  if (fields['localSeverity'] && !fields['V']) fields.severity = fields['severity'] ?? fields['localSeverity'];
  return fields;
}

function cstring(body: Buffer, at: number): [string, number] {
  const end = body.indexOf(0, at);
  if (end < 0) throw new BackendMessageError('unterminated string');
  return [body.toString('utf8', at, end), end + 1];
}

/** A ParameterStatus body as name and value, or null when malformed (the relay passes it on as is). */
export function parameterStatus(body: Buffer): { name: string; value: string } | null {
  const nameEnd = body.indexOf(0);
  const valueEnd = nameEnd < 0 ? -1 : body.indexOf(0, nameEnd + 1);
  if (valueEnd < 0) return null;
  return { name: body.toString('utf8', 0, nameEnd), value: body.toString('utf8', nameEnd + 1, valueEnd) };
}

/**
 * Decodes a handshake-phase message with libpq's strictness (fe-connect.c,
 * fe-protocol3.c): sizes of auth requests and key data are checked, not assumed.
 */
export function decodeHandshake(frame: Frame): HandshakeMessage {
  const { type, body } = frame;
  switch (type) {
    case Be.Authentication: {
      if (body.length < 4 || body.length > 1996)
        throw new BackendMessageError('received invalid authentication request');
      const code = body.readUInt32BE(0);
      if (code === AuthCode.MD5Password && body.length !== 8) {
        throw new BackendMessageError('received invalid authentication request');
      }
      return { type: 'auth', code, data: body.subarray(4) };
    }
    case Be.ParameterStatus: {
      const [name, next] = cstring(body, 0);
      const [value] = cstring(body, next);
      return { type: 'parameter', name, value };
    }
    case Be.BackendKeyData: {
      const keyLength = body.length - 4;
      if (keyLength < 4 || keyLength > 256) throw new BackendMessageError('received invalid BackendKeyData message');
      return { type: 'key', pid: body.readUInt32BE(0), key: body.subarray(4) };
    }
    case Be.ReadyForQuery: {
      const status = String.fromCharCode(body[0] ?? 0);
      if (body.length !== 1 || (status !== 'I' && status !== 'T' && status !== 'E')) {
        throw new BackendMessageError('invalid ReadyForQuery');
      }
      return { type: 'ready', status };
    }
    case Be.ErrorResponse:
      return { type: 'error', fields: parseFields(body) };
    case Be.NoticeResponse:
      return { type: 'notice', fields: parseFields(body) };
    case Be.NegotiateProtocolVersion: {
      if (body.length < 8 || body.length > 1996)
        throw new BackendMessageError('received invalid protocol negotiation message');
      const version = body.readUInt32BE(0);
      const count = body.readInt32BE(4);
      if (count < 0) throw new BackendMessageError('received invalid protocol negotiation message');
      const options: string[] = [];
      let at = 8;
      for (let i = 0; i < count; i++) {
        const [name, next] = cstring(body, at);
        options.push(name);
        at = next;
      }
      return { type: 'negotiate', version, options };
    }
    default:
      throw new BackendMessageError(`unexpected message type ${type} during connection startup`);
  }
}
