import type { ApiTokenQueries } from '../store/api-token-queries.js';
import { apiTokenActor, apiTokenHash, bearerApiToken } from './api-tokens.js';
import type { WebSession } from './session.js';

/** Console API callers that present an API token instead of a console session cookie. */
export class ApiTokenCallers {
  constructor(private readonly queries: ApiTokenQueries) {}

  /** The caller for an `Authorization` header, or null (unknown, revoked, expired, malformed). */
  async caller(header: string | undefined, from: string): Promise<WebSession | null> {
    const token = bearerApiToken(header);
    if (!token) return null;
    const row = await this.queries.usable(apiTokenHash(token));
    if (!row) return null;
    await this.queries.touch(row.id, from);
    return {
      user: apiTokenActor(row),
      email: null,
      groups: [],
      groupsReadAt: new Date(),
      jti: row.id,
      // A token caller has no pgward login token and no CSRF token: nothing to hand out.
      token: '',
      expiresAt: row.expiresAt.toISOString(),
      csrf: '',
      apiToken: { id: row.id, name: row.name, scopes: row.scopes },
    };
  }
}
