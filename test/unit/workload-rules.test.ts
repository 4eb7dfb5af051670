import { describe, expect, it } from 'vitest';
import { jwksUriAllowed, mapGroups } from '../../src/identity/workload.js';

describe('workload identity rules', () => {
  it('maps issuer groups through groupMap and drops the rest (an issuer cannot name pgward groups)', () => {
    const map = { 'acme/app:deploy': 'deployers', 'acme/ops': ['ops', 'readers'] };
    expect(mapGroups(map, ['acme/app:deploy', 'admins', 'acme/ops', 'ops'])).toEqual(['deployers', 'ops', 'readers']);
    expect(mapGroups(map, 'acme/ops')).toEqual(['ops', 'readers']);
    expect(mapGroups(map, undefined)).toEqual([]);
    expect(mapGroups({}, ['admins'])).toEqual([]);
    expect(mapGroups(map, ['__proto__', 'constructor', 42])).toEqual([]);
  });

  it('a discovered jwks_uri must be https; plain http only with allowInsecure on loopback or the issuer origin', () => {
    const secure = { issuer: 'https://ci.example', allowInsecure: false };
    const dev = { issuer: 'http://idp.internal:8080', allowInsecure: true };
    expect(jwksUriAllowed(new URL('https://keys.example/jwks'), secure)).toBe(true);
    expect(jwksUriAllowed(new URL('http://ci.example/jwks'), secure)).toBe(false);
    expect(jwksUriAllowed(new URL('http://127.0.0.1:9/jwks'), secure)).toBe(false);
    expect(jwksUriAllowed(new URL('http://127.0.0.1:9/jwks'), dev)).toBe(true);
    expect(jwksUriAllowed(new URL('http://[::1]:9/jwks'), dev)).toBe(true);
    expect(jwksUriAllowed(new URL('http://idp.internal:8080/certs'), dev)).toBe(true);
    expect(jwksUriAllowed(new URL('http://evil.example/jwks'), dev)).toBe(false);
    expect(jwksUriAllowed(new URL('ftp://127.0.0.1/jwks'), dev)).toBe(false);
  });
});
