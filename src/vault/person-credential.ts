import { randomBytes } from 'node:crypto';
import type { Vault } from './vault.js';

/** Where a person's login is kept in the vault, beside the target's shared credentials. */
export const personVaultKey = (login: string): string => `person-role/${login}`;

/** Whose login an entry is: sealed with the password, so an entry cannot be moved to another person. */
export interface PersonOwner {
  person: string;
  /** The granted upstream role. */
  role: string;
}

/** The vault entry names another person or grant than the one asking (two names met). */
export class PersonCredentialMismatch extends Error {
  constructor(login: string) {
    super(`vault entry of login "${login}" belongs to another person or grant`);
    this.name = 'PersonCredentialMismatch';
  }
}

interface Entry extends PersonOwner {
  v: 1;
  password: string;
}

/** A password Postgres stores as a SCRAM verifier: 256 random bits, ASCII (SASLprep leaves it as is). */
export const newPersonPassword = (): string => randomBytes(32).toString('base64url');

function decode(text: string, login: string, owner: PersonOwner): string {
  let e: Partial<Entry>;
  try {
    e = JSON.parse(text) as Partial<Entry>;
  } catch {
    throw new PersonCredentialMismatch(login);
  }
  if (e.v !== 1 || e.person !== owner.person || e.role !== owner.role || typeof e.password !== 'string')
    throw new PersonCredentialMismatch(login);
  return e.password;
}

/**
 * The password of a person's login: the vaulted one, or a new one stored now. Gateways share
 * the store, so the first to store wins and every other reads that one back (insert, on
 * conflict nothing, read): all of them set and use one password. `created` says this call
 * stored it (the role very likely does not exist upstream yet). `read` lets the caller share
 * concurrent lookups.
 */
export async function personCredential(
  vault: Vault,
  target: string,
  login: string,
  owner: PersonOwner,
  read: (target: string, key: string) => Promise<string | null> = (t, k) => vault.get(t, k),
): Promise<{ password: string; created: boolean }> {
  const key = personVaultKey(login);
  const found = await read(target, key);
  if (found !== null) return { password: decode(found, login, owner), created: false };
  const entry: Entry = { v: 1, person: owner.person, role: owner.role, password: newPersonPassword() };
  const { secret, stored } = await vault.setIfAbsent(target, key, JSON.stringify(entry));
  return { password: decode(secret, login, owner), created: stored };
}
