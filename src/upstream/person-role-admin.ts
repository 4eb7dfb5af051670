import type { UpstreamConnection } from './connector.js';
import { inspect, parsePersonRoleComment, PersonRoleError } from './person-roles.js';
import { quoteIdent, quoteLiteral } from './role-names.js';
import { runSimpleQuery, UpstreamQueryError } from './simple-query.js';

/* What an administrator does with the logins pgward made: see them, drop one (pgward person-roles). */

/** A login pgward made, as the upstream catalogue shows it. */
export interface ProvisionedLogin {
  login: string;
  person: string;
  role: string;
  /** Still a member of the role it was made for. */
  member: boolean;
  /** Backends logged in as it now. */
  backends: number;
}

/** Every role carrying pgward's mark, with whose it is and whether it is in use. */
export async function listPersonRoles(provisioner: UpstreamConnection): Promise<ProvisionedLogin[]> {
  const { rows } = await runSimpleQuery(
    provisioner,
    `SELECT r.rolname, pg_catalog.shobj_description(r.oid, 'pg_authid'),
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a WHERE a.usesysid OPERATOR(pg_catalog.=) r.oid)::text,
       (SELECT coalesce(pg_catalog.json_agg(g.rolname), '[]'::pg_catalog.json)
          FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid
         WHERE m.member OPERATOR(pg_catalog.=) r.oid)::text
     FROM pg_catalog.pg_roles r
     WHERE pg_catalog.starts_with(pg_catalog.shobj_description(r.oid, 'pg_authid'), 'pgward person login ')
     ORDER BY 1`,
  );
  const out: ProvisionedLogin[] = [];
  for (const [login, comment, backends, memberOf] of rows) {
    const owner = parsePersonRoleComment(comment ?? null);
    if (!login || !owner) continue;
    const member = (JSON.parse(memberOf ?? '[]') as string[]).includes(owner.role);
    out.push({ login, ...owner, member, backends: Number(backends) });
  }
  return out;
}

/**
 * Drops a login pgward made (a role without the mark is refused). Not while a backend is
 * logged in as it (55006): a dropped role's backend fails every statement ("invalid role
 * OID"), and a gateway may hold one idle in a pool until the pool's idleMs. Objects it owns
 * keep it (2BP01): their owner must be changed first.
 */
export async function dropPersonRole(provisioner: UpstreamConnection, login: string): Promise<void> {
  const existing = await inspect(provisioner, login);
  if (!existing) throw new PersonRoleError('42704', `role "${login}" does not exist`);
  if (!parsePersonRoleComment(existing.comment))
    throw new PersonRoleError('42501', `role "${login}" was not made by pgward; drop it yourself if you mean to`);
  const { rows } = await runSimpleQuery(
    provisioner,
    `SELECT pg_catalog.count(*)::text FROM pg_catalog.pg_stat_activity WHERE usename OPERATOR(pg_catalog.=) ${quoteLiteral(login)}::pg_catalog.name`,
  );
  const backends = Number(rows[0]?.[0] ?? 0);
  if (backends > 0)
    throw new PersonRoleError(
      '55006',
      `role "${login}" has ${backends} backend(s) logged in (a gateway's idle pooled connections close after the target's pool.idleMs); try again when it has none`,
    );
  try {
    await runSimpleQuery(provisioner, `DROP ROLE ${quoteIdent(login)}`);
  } catch (err) {
    if (err instanceof UpstreamQueryError) throw new PersonRoleError(err.code, err.message);
    throw err;
  }
}
