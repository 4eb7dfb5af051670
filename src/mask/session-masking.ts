import type { Grant } from '../policy/evaluate.js';
import type { MaskingRules } from '../policy/masking-schema.js';
import type { PolicySet } from '../policy/schema.js';
import type { UpstreamConnection } from '../upstream/connector.js';
import { runSimpleQuery } from '../upstream/simple-query.js';
import { CatalogueCache, type CatalogueQuery } from './catalogue.js';
import { SessionMasker } from './session-masker.js';

/**
 * What a gateway needs to mask sessions: the grant's rules (the allow rule's
 * session.masking), the keyed-hash key derived from the vault key under
 * MASKING_KEY_LABEL (every gateway sharing a vault key hashes alike, so joins on hashed
 * values work across them), and catalogue reads over a connection of the session's role.
 */

/** What vault.derive is asked for: the key of the hash strategy. */
export const MASKING_KEY_LABEL = 'masking-hash';

/** The masking rules of the rule that made this grant; null when it has none (no masker, rows untouched). */
export function maskingRulesFor(policy: PolicySet, grant: Pick<Grant, 'rule' | 'file'>): MaskingRules | null {
  for (const { rule, file } of policy.rules) {
    if (rule.name === grant.rule && file === grant.file && rule.effect === 'allow') return rule.session.masking ?? null;
  }
  return null;
}

/**
 * Catalogue reads on a connection of their own (opened, read, closed: a read is rare, once
 * per target and schema change), never on the session's: the client's transaction and
 * pipeline are not disturbed.
 */
export function catalogueOver(
  open: () => Promise<UpstreamConnection>,
  close: (up: UpstreamConnection) => void = (up) => up.socket.destroy(),
): CatalogueQuery {
  return async (sql) => {
    const up = await open();
    try {
      return (await runSimpleQuery(up, sql, 15_000)).rows;
    } finally {
      close(up);
    }
  };
}

/** One cache per gateway process: catalogues are shared by every session of a target. */
export const gatewayCatalogues = new CatalogueCache();

export interface MaskerPorts {
  key: Buffer;
  catalogue: CatalogueQuery;
  cache?: CatalogueCache;
}

/** The relay's masker for a session under this grant, or undefined when the grant masks nothing. */
export function sessionMasker(
  rules: MaskingRules | null,
  where: { target: string; database: string },
  ports: MaskerPorts,
): SessionMasker | undefined {
  if (!rules) return undefined;
  return new SessionMasker({
    rules,
    key: ports.key,
    catalogue: ports.catalogue,
    cache: ports.cache ?? gatewayCatalogues,
    target: where.target,
    database: where.database,
  });
}
