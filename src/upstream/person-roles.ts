import { randomBytes } from 'node:crypto';
import { formatVerifier, makeVerifier, MIN_SCRAM_ITERATIONS } from '../auth/scram-primitives.js';
import { connectUpstream, type UpstreamConnection, type UpstreamEndpoint } from './connector.js';
import { quoteIdent, quoteLiteral } from './role-names.js';
import { runSimpleQuery, UpstreamQueryError } from './simple-query.js';

/** SQLSTATEs of a role that already exists: checked before the insert, or met at its unique index by a concurrent CREATE. */
const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';

/**
 * Two ALTER ROLEs (or GRANTs) of one role at once: the second meets the first's row version
 * ("tuple concurrently updated", XX000, from simple_heap_update) or its unique index entry
 * (23505). Both are retried: the other writer set the same vaulted password.
 */
function concurrentChange(err: UpstreamQueryError): boolean {
  return err.code === UNIQUE_VIOLATION || (err.code === 'XX000' && /concurrently/.test(err.message));
}

/** One person's login for one granted upstream role. */
export interface PersonRoleSpec {
  /** personRoleName(person, role). */
  login: string;
  person: string;
  /** The granted upstream role it becomes a member of (and of nothing else). */
  role: string;
  /** SCRAM-SHA-256 verifier of the vaulted password: the password itself never reaches the server or its logs. */
  verifier: string;
}

/**
 * Provisioning refused to touch or use a role: it exists with something pgward did not give
 * it (another owner's mark, more attributes, more memberships), or the upstream refused
 * (the provisioner lacks CREATEROLE, or ADMIN OPTION on the granted role in Postgres 16+).
 */
export class PersonRoleError extends Error {
  constructor(
    /** The server's SQLSTATE, or 42501 for a role pgward will not use. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PersonRoleError';
  }
}

/** The mark in COMMENT ON ROLE that says pgward made the role, for whom and for which grant. */
export function personRoleComment(person: string, role: string): string {
  return `pgward person login ${JSON.stringify({ person, role })}`;
}

/** Whose login a role's comment says it is, when pgward made it. */
export function parsePersonRoleComment(comment: string | null): { person: string; role: string } | null {
  const prefix = 'pgward person login ';
  if (!comment?.startsWith(prefix)) return null;
  try {
    const v = JSON.parse(comment.slice(prefix.length)) as unknown;
    if (typeof v === 'object' && v !== null) {
      const { person, role } = v as Record<string, unknown>;
      if (typeof person === 'string' && typeof role === 'string') return { person, role };
    }
  } catch {
    // not ours
  }
  return null;
}

/**
 * The membership clause. Postgres 16+ can keep the privileges (INHERIT) without the right to
 * become the shared role (SET FALSE): no `SET ROLE demo_ro` and then `ALTER ROLE demo_ro SET`.
 * Postgres 15 and older have no such option; there a member can always SET ROLE.
 */
function grantSql(spec: PersonRoleSpec, major: number): string {
  const options = major >= 16 ? ' WITH INHERIT TRUE, SET FALSE' : '';
  return `GRANT ${quoteIdent(spec.role)} TO ${quoteIdent(spec.login)}${options}`;
}

/**
 * Creates the role, its one membership and its mark in one implicit transaction (one
 * simple Query): another gateway sees all three or none. LOGIN and INHERIT; every other
 * attribute spelled out as off.
 */
export function createSql(spec: PersonRoleSpec, major: number): string {
  const login = quoteIdent(spec.login);
  return [
    `CREATE ROLE ${login} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${quoteLiteral(spec.verifier)}`,
    grantSql(spec, major),
    `COMMENT ON ROLE ${login} IS ${quoteLiteral(personRoleComment(spec.person, spec.role))}`,
  ].join(';\n');
}

/** Sets the vaulted password again (the person may have changed it) and the membership when it is gone. */
export function repairSql(spec: PersonRoleSpec, major: number, grant: boolean): string {
  const alter = `ALTER ROLE ${quoteIdent(spec.login)} WITH PASSWORD ${quoteLiteral(spec.verifier)} VALID UNTIL 'infinity'`;
  return grant ? `${alter};\n${grantSql(spec, major)}` : alter;
}

/** Schema-qualified: what the provisioner runs must not depend on its search_path. */
export function inspectSql(login: string): string {
  return `SELECT pg_catalog.json_build_object(
  'login', r.rolcanlogin, 'inherit', r.rolinherit, 'super', r.rolsuper, 'createrole', r.rolcreaterole,
  'createdb', r.rolcreatedb, 'replication', r.rolreplication, 'bypassrls', r.rolbypassrls,
  'comment', pg_catalog.shobj_description(r.oid, 'pg_authid'),
  'memberOf', (SELECT coalesce(pg_catalog.json_agg(g.rolname), '[]'::pg_catalog.json)
     FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid
     WHERE m.member OPERATOR(pg_catalog.=) r.oid))::text
FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) ${quoteLiteral(login)}::pg_catalog.name`;
}

export interface ExistingRole {
  login: boolean;
  inherit: boolean;
  super: boolean;
  createrole: boolean;
  createdb: boolean;
  replication: boolean;
  bypassrls: boolean;
  comment: string | null;
  memberOf: string[];
}

/**
 * Whether an existing role may serve as this person's login. Returns what is wrong, or
 * null when only the membership may need adding. An administrator's change (NOLOGIN, more
 * attributes, more memberships) is respected as a refusal, never undone.
 */
export function existingRoleProblem(spec: PersonRoleSpec, r: ExistingRole): string | null {
  const owner = parsePersonRoleComment(r.comment);
  if (!owner) return `role "${spec.login}" exists and was not made by pgward`;
  if (owner.person !== spec.person || owner.role !== spec.role)
    return `role "${spec.login}" is pgward's login of another person or grant`;
  if (!r.login) return `role "${spec.login}" cannot log in (NOLOGIN set upstream)`;
  const extra: string[] = (['super', 'createrole', 'createdb', 'replication', 'bypassrls'] as const).filter(
    (a) => r[a],
  );
  if (!r.inherit) extra.push('noinherit');
  if (extra.length) return `role "${spec.login}" has attributes pgward does not give (${extra.join(', ')})`;
  const others = r.memberOf.filter((m) => m !== spec.role);
  if (others.length) return `role "${spec.login}" is a member of other roles (${[...new Set(others)].join(', ')})`;
  return null;
}

/** The server's major version from its server_version ParameterStatus ("15.4 (Debian ...)", "17devel"). */
export function serverMajor(parameters: ReadonlyArray<readonly [string, string]>): number {
  const v = parameters.find(([k]) => k === 'server_version')?.[1] ?? '';
  const major = parseInt(v, 10);
  if (!Number.isFinite(major)) throw new PersonRoleError('08P01', `upstream reported no usable server_version`);
  return major;
}

export async function inspect(provisioner: UpstreamConnection, login: string): Promise<ExistingRole | null> {
  const { rows } = await runSimpleQuery(provisioner, inspectSql(login));
  const text = rows[0]?.[0];
  return text ? (JSON.parse(text) as ExistingRole) : null;
}

/**
 * Creates the person's login, or brings an existing one (made by this or another gateway,
 * possibly at this very moment) to the vaulted password. Race-free across sessions and
 * gateways: CREATE ROLE either wins or meets the role (42710, or 23505 when both inserted
 * at once and the other committed first); the loser inspects and repairs, and a repair that
 * meets a concurrent ALTER or GRANT (XX000 "tuple concurrently updated", 23505) looks again.
 * All gateways set the one password the vault holds, so whichever ALTER runs last leaves
 * the same secret.
 */
export async function provisionPersonRole(
  provisioner: UpstreamConnection,
  spec: PersonRoleSpec,
): Promise<'created' | 'repaired'> {
  const major = serverMajor(provisioner.parameters);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await runSimpleQuery(provisioner, createSql(spec, major));
      return 'created';
    } catch (err) {
      if (!(err instanceof UpstreamQueryError)) throw err;
      if (err.code !== DUPLICATE_OBJECT && !concurrentChange(err)) throw new PersonRoleError(err.code, err.message);
    }
    const existing = await inspect(provisioner, spec.login);
    if (!existing) continue; // dropped meanwhile: create again
    const problem = existingRoleProblem(spec, existing);
    if (problem) throw new PersonRoleError('42501', problem);
    try {
      await runSimpleQuery(provisioner, repairSql(spec, major, !existing.memberOf.includes(spec.role)));
      return 'repaired';
    } catch (err) {
      if (!(err instanceof UpstreamQueryError)) throw err;
      if (!concurrentChange(err)) throw new PersonRoleError(err.code, err.message);
    }
    // Another gateway changed the role at the same moment: let it finish, then look again.
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
  }
  throw new PersonRoleError('40001', `role "${spec.login}" kept changing while pgward provisioned it`);
}

/** What a person's login is made from; the password is turned into a verifier here and goes no further. */
export interface PersonLogin {
  login: string;
  person: string;
  role: string;
  password: string;
}

/**
 * Connects as the provisioner (search_path pg_catalog, named in pg_stat_activity), creates
 * or repairs the login, and closes. Provisioning is rare (a person's first connect to a
 * granted role, or a repair), so the connection is not kept.
 */
export async function provisionOver(
  endpoint: UpstreamEndpoint,
  provisioner: { user: string; password: string; database: string },
  who: PersonLogin,
): Promise<'created' | 'repaired'> {
  const verifier = formatVerifier(makeVerifier(who.password, randomBytes(16), MIN_SCRAM_ITERATIONS));
  return asProvisioner(endpoint, provisioner, (up) =>
    provisionPersonRole(up, { login: who.login, person: who.person, role: who.role, verifier }),
  );
}

/** Runs `work` on a new connection as the provisioner (search_path pg_catalog), then closes it. */
export async function asProvisioner<T>(
  endpoint: UpstreamEndpoint,
  provisioner: { user: string; password: string; database: string },
  work: (up: UpstreamConnection) => Promise<T>,
): Promise<T> {
  const up = await connectUpstream(endpoint, {
    ...provisioner,
    params: [
      ['search_path', 'pg_catalog'],
      ['application_name', 'pgward provisioner'],
    ],
  });
  try {
    return await work(up);
  } finally {
    // Terminate, so the server logs a clean disconnection rather than an EOF.
    up.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
  }
}
