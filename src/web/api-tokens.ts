import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parseDuration } from '../util/duration.js';
import type { ApiTokenQueries, ApiTokenRow, ApiTokenScope } from '../store/api-token-queries.js';

/** API tokens start with this, so secret scanners and people can tell them apart from JWTs. */
export const API_TOKEN_PREFIX = 'pgw_';
/** The longest an API token may live: automation tokens are rotated, not kept forever. */
export const API_TOKEN_MAX_TTL = '365d';

export class ApiTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiTokenError';
  }
}

export const apiTokenHash = (token: string): Buffer => createHash('sha256').update(token).digest();

/** The token in an `Authorization: Bearer` header, if it has the API token form. */
export function bearerApiToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(pgw_[A-Za-z0-9_-]{43})\s*$/.exec(header ?? '');
  return m ? m[1]! : null;
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

/**
 * Makes an API token: returns it once (never stored, never logged) with its row. The
 * creator must hold every scope they give (the console checks; the operator CLI holds all).
 */
export async function createApiToken(
  queries: ApiTokenQueries,
  req: { name: string; scopes: ApiTokenScope[]; ttl: string; createdBy: string },
): Promise<{ token: string; id: string; expiresAt: Date }> {
  if (!NAME.test(req.name))
    throw new ApiTokenError(
      'a token name is 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  if (req.scopes.length === 0) throw new ApiTokenError('give the token at least one scope: admin or auditor');
  let ttlMs: number;
  try {
    ttlMs = parseDuration(req.ttl);
  } catch {
    throw new ApiTokenError(`invalid lifetime "${req.ttl}" (use e.g. 30d, 12h)`);
  }
  if (ttlMs <= 0 || ttlMs > parseDuration(API_TOKEN_MAX_TTL))
    throw new ApiTokenError(`an API token lives at most ${API_TOKEN_MAX_TTL}`);
  const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + ttlMs);
  const created = await queries.create({
    id,
    name: req.name,
    scopes: [...new Set(req.scopes)].sort(),
    tokenHash: apiTokenHash(token),
    createdBy: req.createdBy,
    expiresAt,
  });
  if (!created) throw new ApiTokenError(`an API token named "${req.name}" exists; revoke it or pick another name`);
  return { token, id, expiresAt };
}

/** How a token shows in admin_events and logs: never the token itself. */
export const apiTokenActor = (t: Pick<ApiTokenRow, 'name'>): string => `api-token:${t.name}`;
