import type { UserLock } from '../store/user-lock-queries.js';

/** The longest lock: a longer removal is the identity provider's job (disable the account). */
export const MAX_LOCK_MS = 30 * 24 * 3_600_000;

/** Refused because the person is locked: every door (token, sign-in, link) says the same. */
export class UserLockedError extends Error {
  override name = 'UserLockedError';
  constructor(readonly lock: UserLock) {
    super(lockMessage(lock));
  }
}

const utc = (d: Date): string => `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;

/** What the locked person is told: until when, by whom and why. */
export function lockMessage(lock: UserLock): string {
  return `${lock.username} is locked out of pgward until ${utc(lock.until)} by ${lock.by}: ${lock.reason}`;
}
