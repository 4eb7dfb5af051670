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
 * What U+0000 becomes in the store's searchable copy of an event (the jsonb payload and the
 * username column): the six characters \u0000. jsonb and text cannot hold U+0000; the event
 * itself, as hashed, keeps the real character (see exactBody in the store).
 */
export const NUL_STAND_IN = '\\u0000';

/** String.prototype.isWellFormed / toWellFormed (Node 20; the ES2024 lib is not in our target). */
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/** True when Postgres text and jsonb can hold the string as it is: no U+0000, no unpaired surrogate. */
export function storable(s: string): boolean {
  return !s.includes('\0') && (s as unknown as WellFormed).isWellFormed();
}

/** The string as the store's searchable copy shows it: U+0000 as NUL_STAND_IN, an unpaired surrogate as U+FFFD. */
export function storableText(s: string): string {
  return storable(s) ? s : (s.replaceAll('\0', NUL_STAND_IN) as unknown as WellFormed).toWellFormed();
}

/**
 * Canonical JSON: object keys sorted at every level, so the same value always gives the same
 * bytes. Exact: JSON.stringify writes U+0000 and unpaired surrogates as \u escapes, so every
 * string round-trips through JSON.parse. (Before the exact copy was kept, U+0000 was hashed
 * as NUL_STAND_IN; those events read back from the store as NUL_STAND_IN text, whose exact
 * JSON is the same bytes, so their hashes still check out.)
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, JSON.stringify);
}

/** Canonical JSON of what the store can hold of the value (storableText on every string and key). */
export function storableJson(value: unknown): string {
  return serialize(value, (s) => JSON.stringify(storableText(s)));
}

/** True when every string and key in the value is storable (the common case: no exact copy is needed). */
export function storableValue(value: unknown): boolean {
  if (typeof value === 'string') return storable(value);
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(storableValue);
  for (const [k, v] of Object.entries(value)) if (!storable(k) || !storableValue(v)) return false;
  return true;
}

function serialize(value: unknown, str: (s: string) => string): string {
  if (typeof value === 'string') return str(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v, str)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${str(k)}:${serialize(obj[k], str)}`).join(',')}}`;
}

/** Where a session's chain starts: bound to the session id, so chains cannot be swapped. */
export function genesisHash(sessionId: string): string {
  return createHash('sha256').update(`pgward session ${sessionId}`).digest('hex');
}

/** The bytes an event's hash covers (after the previous hash): canonicalJson of the event without its hashes. */
export function eventBody(e: Omit<ChainedEvent, 'hash' | 'prev_hash'>, payloadJson: string): string {
  // The same bytes as canonicalJson of the whole event, built around a payload serialized once.
  return `{"at":${JSON.stringify(e.at)},"kind":${JSON.stringify(e.kind)},"payload":${payloadJson},"seq":${e.seq},"session_id":${JSON.stringify(e.session_id)},"username":${JSON.stringify(e.username)}}`;
}

export function bodyHash(prevHash: string, body: string): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(body).digest('hex');
}

export function eventHash(e: Omit<ChainedEvent, 'hash'>, payloadJson: string = canonicalJson(e.payload)): string {
  return bodyHash(e.prev_hash, eventBody(e, payloadJson));
}
