import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';

describe('configuration', () => {
  it('accepts the documented example file as it stands', async () => {
    const c = await loadConfigFile('pgward.example.yaml');
    expect(c.auth.groupTtl).toEqual({ admins: '1h' });
    expect(c.oidc?.issuer).toBe('https://keycloak.internal/realms/acme');
    expect(c.auth.externalIssuers[0]?.requiredClaims).toEqual({ repository_owner: 'acme' });
  });

  it('refuses a workload issuer on plain http unless marked for development', () => {
    const issuer = { issuer: 'http://ci.internal', audience: 'pgward' };
    expect(() => parseConfig({ auth: { externalIssuers: [issuer] } })).toThrow(/must use https/);
    expect(
      parseConfig({ auth: { externalIssuers: [{ ...issuer, allowInsecure: true }] } }).auth.externalIssuers,
    ).toHaveLength(1);
  });
});
