import { describe, expect, it } from 'vitest';
import {
  createSql,
  existingRoleProblem,
  parsePersonRoleComment,
  personRoleComment,
  repairSql,
  serverMajor,
  type ExistingRole,
  type PersonRoleSpec,
} from '../../src/upstream/person-roles.js';
import { MAX_ROLE_NAME_BYTES, personRoleName, quoteIdent, quoteLiteral } from '../../src/upstream/role-names.js';

describe('per-person login names', () => {
  it('plain and readable when both parts are plain: person:role', () => {
    expect(personRoleName('alice', 'demo_ro')).toBe('alice:demo_ro');
    expect(personRoleName('alice@example.com', 'demo_app')).toBe('alice@example.com:demo_app');
  });

  it('never the name of a shared role, whatever the person is called', () => {
    expect(personRoleName('demo_app', 'demo_ro')).toBe('demo_app:demo_ro');
    expect(personRoleName('demo_app', 'demo_ro')).toContain(':');
  });

  it('two different (person, role) pairs never share a login', () => {
    // Each pair would read "a:b:c" if the separator were not guarded.
    const pairs: Array<[string, string]> = [
      ['a', 'b:c'],
      ['a:b', 'c'],
      ['a~b', 'c'],
      ['a', 'b~c'],
      ['a_b', 'c'],
      ['a', 'b_c'],
      ['x'.repeat(50), 'r'],
      ['x'.repeat(51), 'r'],
      ['Alice', 'demo_ro'],
      ['alice', 'demo_ro'],
      ['al ice', 'demo_ro'],
      ['al_ice', 'demo_ro'],
      ['ålice', 'demo_ro'],
    ];
    const names = pairs.map(([p, r]) => personRoleName(p, r));
    expect(new Set(names).size).toBe(pairs.length);
  });

  it('hashed (a ~ and 16 hex digits) when a part has other characters or the whole is over 63 bytes', () => {
    const long = personRoleName('z'.repeat(60), 'demo_ro');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_ROLE_NAME_BYTES);
    expect(long).toMatch(/^z+:demo_ro~[0-9a-f]{16}$/);
    const odd = personRoleName(`o'hara "x"; drop role demo_ro; --`, 'demo_ro');
    expect(odd).toMatch(/^o_hara__x___drop_role_demo_ro__--:demo_ro~[0-9a-f]{16}$/);
    expect(Buffer.byteLength(personRoleName('é'.repeat(40), 'r'.repeat(63)))).toBeLessThanOrEqual(63);
    // A plain name has no ~, so no plain name equals a hashed one.
    expect(personRoleName('alice', 'demo_ro')).not.toContain('~');
  });

  it('exactly 63 bytes stays plain; 64 is hashed', () => {
    const at63 = personRoleName('p'.repeat(63 - 1 - 7), 'demo_ro');
    expect(Buffer.byteLength(at63)).toBe(63);
    expect(at63).not.toContain('~');
    expect(personRoleName('p'.repeat(63 - 7), 'demo_ro')).toContain('~');
  });

  it('refuses NUL, which no role name can hold', () => {
    expect(() => personRoleName('a\0b', 'r')).toThrow(RangeError);
  });
});

describe('quoting', () => {
  it('identifiers are always quoted, inner quotes doubled', () => {
    expect(quoteIdent('alice:demo_ro')).toBe('"alice:demo_ro"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent(`x"; drop role y; --`)).toBe(`"x""; drop role y; --"`);
    expect(() => quoteIdent('')).toThrow(RangeError);
    expect(() => quoteIdent('a'.repeat(64))).toThrow(RangeError);
  });

  it('literals read the same with standard_conforming_strings on or off', () => {
    expect(quoteLiteral("o'hara")).toBe("'o''hara'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(quoteLiteral("a\\'; drop")).toBe("E'a\\\\''; drop'");
    expect(() => quoteLiteral('a\0')).toThrow(RangeError);
  });
});

const spec: PersonRoleSpec = {
  login: 'alice:demo_ro',
  person: 'alice',
  role: 'demo_ro',
  verifier: 'SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB',
};

describe('provisioning SQL', () => {
  it('Postgres 15: one transaction with LOGIN INHERIT, every other attribute off, one GRANT and the mark', () => {
    expect(createSql(spec, 15)).toBe(
      [
        `CREATE ROLE "alice:demo_ro" WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB'`,
        `GRANT "demo_ro" TO "alice:demo_ro"`,
        `COMMENT ON ROLE "alice:demo_ro" IS 'pgward person login {"person":"alice","role":"demo_ro"}'`,
      ].join(';\n'),
    );
  });

  it('Postgres 16+: the membership keeps the privileges without SET ROLE to the shared role', () => {
    expect(createSql(spec, 16)).toContain(`GRANT "demo_ro" TO "alice:demo_ro" WITH INHERIT TRUE, SET FALSE`);
    expect(createSql(spec, 17)).toContain('SET FALSE');
  });

  it('a repair sets the vaulted password (and no expiry), and grants only when the membership is gone', () => {
    expect(repairSql(spec, 15, false)).toBe(
      `ALTER ROLE "alice:demo_ro" WITH PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB' VALID UNTIL 'infinity'`,
    );
    expect(repairSql(spec, 16, true)).toMatch(/;\nGRANT "demo_ro" TO "alice:demo_ro" WITH INHERIT TRUE, SET FALSE$/);
  });

  it('the mark names person and role exactly, however they are spelled', () => {
    const person = `o'hara "x"\\`;
    const comment = personRoleComment(person, 'demo_ro');
    expect(parsePersonRoleComment(comment)).toEqual({ person, role: 'demo_ro' });
    expect(parsePersonRoleComment('made by hand')).toBeNull();
    expect(parsePersonRoleComment('pgward person login {oops')).toBeNull();
    expect(parsePersonRoleComment(null)).toBeNull();
    expect(createSql({ ...spec, person }, 15)).toContain(
      `IS E'pgward person login {"person":"o''hara \\\\"x\\\\"\\\\\\\\"`,
    );
  });

  it('reads the major version the server reports', () => {
    expect(serverMajor([['server_version', '15.10 (Debian 15.10-0+deb12u1)']])).toBe(15);
    expect(serverMajor([['server_version', '17devel']])).toBe(17);
    expect(() => serverMajor([])).toThrow(/server_version/);
  });
});

describe('an existing role', () => {
  const ours: ExistingRole = {
    login: true,
    inherit: true,
    super: false,
    createrole: false,
    createdb: false,
    replication: false,
    bypassrls: false,
    comment: personRoleComment('alice', 'demo_ro'),
    memberOf: ['demo_ro'],
  };

  it('is used when pgward made it for this person and grant', () => {
    expect(existingRoleProblem(spec, ours)).toBeNull();
    // A lost membership is put back by the repair, not refused.
    expect(existingRoleProblem(spec, { ...ours, memberOf: [] })).toBeNull();
  });

  it('is refused, never changed, when someone else made it or gave it more', () => {
    expect(existingRoleProblem(spec, { ...ours, comment: null })).toMatch(/not made by pgward/);
    expect(existingRoleProblem(spec, { ...ours, comment: personRoleComment('bob', 'demo_ro') })).toMatch(
      /another person/,
    );
    expect(existingRoleProblem(spec, { ...ours, login: false })).toMatch(/NOLOGIN/);
    expect(existingRoleProblem(spec, { ...ours, super: true, bypassrls: true })).toMatch(/\(super, bypassrls\)/);
    expect(existingRoleProblem(spec, { ...ours, inherit: false })).toMatch(/noinherit/);
    expect(existingRoleProblem(spec, { ...ours, memberOf: ['demo_ro', 'demo_app'] })).toMatch(/demo_app/);
  });
});
