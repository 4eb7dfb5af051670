import { createHash } from 'node:crypto';

/** NAMEDATALEN - 1: Postgres truncates longer identifiers, so two long names could meet. */
export const MAX_ROLE_NAME_BYTES = 63;

/** Characters a plain per-person name may hold: readable in pg_stat_activity, none of them `:` or `~`. */
const PLAIN = /^[A-Za-z0-9_.@+-]+$/;
const HASH_HEX = 16;

/**
 * The upstream login role of one person for one granted role: `alice:demo_ro`.
 *
 * Injective, because two people must never share a login: the plain form is used only when
 * both parts are made of PLAIN characters (no `:`, no `~`) and the whole fits in 63 bytes,
 * so its one `:` splits it back into (person, role). Anything else (another character, or
 * too long) becomes `<readable part>~<16 hex of SHA-256 of the pair>`, which holds a `~` no
 * plain name has. A person named like a shared role (`demo_app`) gets `demo_app:demo_ro`,
 * never `demo_app`. The vault record of each login also names its person and role, and a
 * login whose record names someone else is refused (see vault/person-credential.ts).
 */
export function personRoleName(person: string, role: string): string {
  if (person.includes('\0') || role.includes('\0')) throw new RangeError('a role name cannot contain NUL');
  const plain = `${person}:${role}`;
  if (PLAIN.test(person) && PLAIN.test(role) && Buffer.byteLength(plain) <= MAX_ROLE_NAME_BYTES) return plain;
  const hash = createHash('sha256')
    .update(JSON.stringify([person, role]))
    .digest('hex')
    .slice(0, HASH_HEX);
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.@+-]/g, '_');
  // 63 - '~' - hash = 46 for "person:role"; the role keeps up to 20 of them, the person the rest.
  const room = MAX_ROLE_NAME_BYTES - 1 - HASH_HEX - 1;
  const r = safe(role).slice(0, 20);
  const p = safe(person).slice(0, room - r.length);
  return `${p}:${r}~${hash}`;
}

/**
 * A quoted identifier (`"a""b"`), whatever it holds: the only way a user name reaches SQL.
 * Names over 63 bytes are refused rather than left to Postgres to truncate.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new RangeError('not a valid identifier');
  if (Buffer.byteLength(name) > MAX_ROLE_NAME_BYTES) throw new RangeError(`identifier longer than 63 bytes`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal that reads the same whatever standard_conforming_strings is: E'' with
 * backslashes and quotes doubled when it holds a backslash, '' otherwise.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new RangeError('a literal cannot contain NUL');
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
