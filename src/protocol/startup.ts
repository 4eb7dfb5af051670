import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, MAX_IDENTIFIER_BYTES, SSL_REQUEST_CODE } from './constants.js';
import { PgError, ProtocolFramingError, protocolViolation } from './errors.js';
import { SqlState } from './sqlstate.js';

export type StartupPacket =
  | { kind: 'ssl-request'; bodyLength: number }
  | { kind: 'gssenc-request'; bodyLength: number }
  | { kind: 'cancel'; pid: number; key: Buffer }
  | { kind: 'startup'; major: number; minor: number; params: StartupParams };

const IDENTITY_PARAMS = new Set(['user', 'database']);

/** Startup parameters in arrival order; `user` and `database` appear at most once. */
export type StartupParams = ReadonlyArray<readonly [name: string, value: string]>;

// ignoreBOM keeps a leading U+FEFF: by default the decoder drops it, so "\uFEFFuser" would
// read as "user" here while Postgres sees another name.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Classifies the body of a startup-type packet (the bytes after the length word). */
export function parseStartupPacket(body: Buffer): StartupPacket {
  const code = body.readUInt32BE(0);
  switch (code) {
    case SSL_REQUEST_CODE:
      return { kind: 'ssl-request', bodyLength: body.length };
    case GSSENC_REQUEST_CODE:
      return { kind: 'gssenc-request', bodyLength: body.length };
    case CANCEL_REQUEST_CODE:
      return parseCancel(body);
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    throw new PgError(
      SqlState.featureNotSupported,
      `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.2`,
    );
  }
  return { kind: 'startup', major, minor, params: parseParams(body.subarray(4)) };
}

/** Key length rules of backend_startup.c: 4..256 bytes, otherwise logged and closed silently. */
function parseCancel(body: Buffer): StartupPacket {
  const keyLength = body.length - 8;
  if (keyLength < 4 || keyLength > 256) {
    throw new ProtocolFramingError('invalid length of cancel key in cancel request packet');
  }
  return { kind: 'cancel', pid: body.readUInt32BE(4), key: body.subarray(8) };
}

function parseParams(data: Buffer): StartupParams {
  const params: Array<[string, string]> = [];
  const seen = new Set<string>();
  let pos = 0;
  const layoutError = (): PgError =>
    protocolViolation('invalid startup packet layout: expected terminator as last byte');
  for (;;) {
    if (pos >= data.length) throw layoutError();
    if (data[pos] === 0) {
      if (pos !== data.length - 1) throw layoutError();
      return params;
    }
    const nameEnd = data.indexOf(0, pos);
    if (nameEnd < 0) throw layoutError();
    const valueEnd = data.indexOf(0, nameEnd + 1);
    // A name whose value would be the terminator leaves no terminator: the C5 layout error.
    if (valueEnd < 0) throw layoutError();
    const name = decode(data.subarray(pos, nameEnd));
    const value = decode(data.subarray(nameEnd + 1, valueEnd));
    // Postgres lets the last duplicate win. Identity must never be ambiguous, so a second
    // user or database is refused here; other duplicates go to policy, which checks the
    // value that takes effect (the last) and forwards only that one.
    if (IDENTITY_PARAMS.has(name) && seen.has(name)) {
      throw protocolViolation(`duplicate startup parameter "${printable(name)}"`);
    }
    seen.add(name);
    params.push([name, value]);
    pos = valueEnd + 1;
  }
}

function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // Stricter than Postgres: never decode lossily and then forward different bytes.
    throw new PgError(SqlState.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8" in startup packet');
  }
}

/** Postgres truncates user and database names byte-wise to NAMEDATALEN-1. */
export function truncateIdentifier(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= MAX_IDENTIFIER_BYTES) return name;
  let cut = MAX_IDENTIFIER_BYTES;
  // Do not split a multibyte character (Postgres clips with pg_mbcliplen).
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8');
}

/** Bytes outside 32..126 shown as \xNN, as pg_clean_ascii does: safe for logs and messages. */
export function printable(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 32 && byte <= 126 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function paramValue(params: StartupParams, name: string): string | undefined {
  for (const [n, v] of params) if (n === name) return v;
  return undefined;
}
