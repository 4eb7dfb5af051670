import type { GatewayConfig } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import type { Role } from './api-route.js';
import type { WebSession } from './session.js';

/** The roles some groups give (config web.roles); everyone signed in is a developer. */
export function rolesOf(groups: string[], config: GatewayConfig): Set<Role> {
  const roles = new Set<Role>(['developer']);
  if (groups.some((g) => config.web.roles.admin.includes(g))) roles.add('admin');
  if (groups.some((g) => config.web.roles.auditor.includes(g))) roles.add('auditor');
  return roles;
}

/** Roles that act on other people's data, and so must rest on recently read groups. */
const PRIVILEGED: readonly Role[] = ['admin', 'auditor'];

export interface SessionRoles {
  /** What the session's groups give, now (config as it is now). */
  held: Set<Role>;
  /** What it may use now: held, less privileged roles whose groups are older than web.rolesMaxAge. */
  usable: Set<Role>;
  /** Held privileged roles that a new sign-in must confirm before they can be used again. */
  toConfirm: Set<Role>;
}

/**
 * The roles of a live session at this request. Groups come from the identity provider at
 * sign-in; a group removed there cannot be seen until the next sign-in, so admin and auditor
 * are usable only while the groups were read within `web.rolesMaxAge` (15 minutes by
 * default). Past that, the console sends the person through the identity provider again
 * (usually without a prompt) and the groups it returns decide.
 */
export function sessionRoles(s: WebSession, config: GatewayConfig, now = Date.now()): SessionRoles {
  // An API token acts with its scopes only; it has no groups to re-read and is not a developer.
  if (s.apiToken) {
    const scopes = new Set<Role>(s.apiToken.scopes);
    return { held: scopes, usable: new Set(scopes), toConfirm: new Set() };
  }
  const held = rolesOf(s.groups, config);
  const fresh = now - s.groupsReadAt.getTime() <= parseDuration(config.web.rolesMaxAge);
  const toConfirm = new Set<Role>(fresh ? [] : PRIVILEGED.filter((r) => held.has(r)));
  return { held, usable: new Set([...held].filter((r) => !toConfirm.has(r))), toConfirm };
}
