import type { GatewayConfig } from '../config/schema.js';
import type { PolicyContext } from './meaning-check.js';

/**
 * What a policy's names are checked against, from the gateway's configuration and, where the
 * caller can read it, the vault's list of (target, role) credentials. A target with person
 * roles needs no credential per granted role, so its roles are not checked.
 */
export function policyContextOf(
  config: GatewayConfig,
  credentials?: ReadonlyArray<{ target: string; role: string }>,
): PolicyContext {
  const targets = new Map<string, { roles: ReadonlySet<string> | null }>();
  for (const [name, target] of Object.entries(config.targets)) {
    const roles =
      credentials && !target.personRoles.enabled
        ? new Set(credentials.filter((c) => c.target === name).map((c) => c.role))
        : null;
    targets.set(name, { roles });
  }
  const known = config.policies.knownGroups;
  const groups = known ? new Set([...known, ...config.web.roles.admin, ...config.web.roles.auditor]) : null;
  return { targets, groups };
}
