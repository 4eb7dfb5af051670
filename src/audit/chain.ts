import { createHash } from 'node:crypto';

/** One audit event as it is hashed, stored and exported. */
export interface ChainedEvent {
  session_id: string;
  seq: number;
  /** ISO 8601 with milliseconds. */
  at: string;
  kind: string;
  username: string | null;
  payload: unknown;
  /** Hex. */
  prev_hash: string;
  hash: string;
}

/**
 * What U+0000 in a string becomes: the six characters \u0000. jsonb cannot hold U+0000
 * (Postgres refuses the whole batch), and a client can send it in any bind value.
 */
export const NUL_STAND_IN = '\\u0000';

/** A string as JSON, with U+0000 replaced by NUL_STAND_IN (so the store takes it and its hash still checks out). */
function jsonString(s: string): string {
  return JSON.stringify(s.includes('\0') ? s.replaceAll('\0', NUL_STAND_IN) : s);
}

/**
 * JSON with object keys sorted at every level: the same value always gives the same bytes.
 * Strings are stored as they will read back from the store (see NUL_STAND_IN).
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return jsonString(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${jsonString(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** Where a session's chain starts: bound to the session id, so chains cannot be swapped. */
export function genesisHash(sessionId: string): string {
  return createHash('sha256').update(`pgward session ${sessionId}`).digest('hex');
}

export function eventHash(e: Omit<ChainedEvent, 'hash'>, payloadJson: string = canonicalJson(e.payload)): string {
  // The same bytes as canonicalJson of the whole event, built around a payload serialized once.
  const body = `{"at":${JSON.stringify(e.at)},"kind":${JSON.stringify(e.kind)},"payload":${payloadJson},"seq":${e.seq},"session_id":${JSON.stringify(e.session_id)},"username":${JSON.stringify(e.username)}}`;
  return createHash('sha256').update(Buffer.from(e.prev_hash, 'hex')).update(body).digest('hex');
}
