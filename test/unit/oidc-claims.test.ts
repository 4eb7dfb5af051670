import { describe, expect, it } from 'vitest';
import { mapClaims, SsoError } from '../../src/identity/oidc-sso.js';

const names = { usernameClaim: 'preferred_username', emailClaim: 'email', groupsClaim: 'groups' };

describe('ID-token claims onto a pgward identity', () => {
  it('takes the provider group names as they are when no groupMap is set', () => {
    const who = mapClaims(
      { preferred_username: 'alice', sub: 's1', iss: 'https://idp', groups: ['developers'] },
      names,
    );
    expect(who).toMatchObject({ user: 'alice', groups: ['developers'], subject: 's1', issuer: 'https://idp' });
  });

  it('maps Entra ID group object ids to names, and drops groups the map does not list', () => {
    const who = mapClaims(
      {
        preferred_username: 'alice@contoso.example',
        groups: ['0b1c8f1e-1111-4f4f-9a9a-000000000001', 'ffffffff-0000-0000-0000-000000000000'],
      },
      {
        ...names,
        groupMap: { '0b1c8f1e-1111-4f4f-9a9a-000000000001': ['developers', 'oncall'] },
      },
    );
    expect(who.groups).toEqual(['developers', 'oncall']);
  });

  it('reads app roles when groupsClaim names them (Entra ID app roles)', () => {
    const who = mapClaims({ preferred_username: 'bob', roles: ['admins'] }, { ...names, groupsClaim: 'roles' });
    expect(who.groups).toEqual(['admins']);
  });

  it('refuses a user name a startup packet cannot carry', () => {
    expect(() => mapClaims({ preferred_username: 'a\nb' }, names)).toThrow(SsoError);
  });
});
