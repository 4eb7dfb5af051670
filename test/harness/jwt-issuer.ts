import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

/**
 * A workload-identity issuer as CI systems run one (GitHub Actions, GitLab, a cloud's
 * metadata service): discovery document and JWKS over HTTP, RS256 tokens. The real ones
 * are external clouds that cannot run here, so the test serves the same documents itself.
 */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  sign(
    claims: JWTPayload,
    opts?: { expiresIn?: string | number; audience?: string; issuer?: string; subject?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'ci-1', alg: 'RS256', use: 'sig' };
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', (req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks` }
        : req.url === '/jwks'
          ? { keys: [jwk] }
          : null;
    res
      .writeHead(body ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(body ?? { error: 'not found' }));
  });
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    sign: (claims, o = {}) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-1', typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? 'pgward')
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? '5m');
      if (o.subject) jwt.setSubject(o.subject);
      return jwt.sign(privateKey);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
