import { createLocalJWKSet, decodeJwt, errors, jwtVerify, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';

export const TOKEN_ALG = 'ES256';

export interface TokenIdentity {
  user: string;
  groups: string[];
  jti: string;
  expiresAt: Date;
  /** String claims policy may match on (workload JWTs); empty for the gateway's own tokens. */
  claims?: Record<string, string>;
}

/** Why a token was refused: recorded in the audit log, never shown to the client. */
export type TokenFailure =
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'alg-not-allowed'
  | 'unknown-key'
  | 'missing-claims'
  | 'revoked'
  | 'unknown-token'
  | 'wrong-user';

export class TokenError extends Error {
  constructor(readonly reason: TokenFailure) {
    super(`token refused: ${reason}`);
    this.name = 'TokenError';
  }
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

export interface MintRequest {
  user: string;
  groups: string[];
  jti: string;
  expiresAt: Date;
  issuer: string;
  audience: string;
}

export async function mintToken(key: SigningKey, req: MintRequest): Promise<string> {
  return new SignJWT({ groups: req.groups })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: 'JWT' })
    .setSubject(req.user)
    .setJti(req.jti)
    .setIssuer(req.issuer)
    .setAudience(req.audience)
    .setIssuedAt()
    .setNotBefore(Math.floor(Date.now() / 1000) - 5)
    .setExpirationTime(Math.floor(req.expiresAt.getTime() / 1000))
    .sign(key.privateKey);
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
}

/** Signature and claims only; revocation is the caller's second check. */
export async function verifyToken(token: string, jwks: JSONWebKeySet, opts: VerifyOptions): Promise<TokenIdentity> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: [TOKEN_ALG],
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    });
    const groups = Array.isArray(payload['groups'])
      ? payload['groups'].filter((g): g is string => typeof g === 'string')
      : [];
    if (!payload.sub || !payload.jti || payload.exp === undefined) throw new TokenError('missing-claims');
    return { user: payload.sub, groups, jti: payload.jti, expiresAt: new Date(payload.exp * 1000) };
  } catch (err) {
    const reason = classifyTokenError(err);
    // jose checks the signature before the claims, so a token from another issuer fails
    // on its key; the (unverified) iss says which failure the audit should name.
    if (
      (reason === 'unknown-key' || reason === 'bad-signature' || reason === 'alg-not-allowed') &&
      unverifiedIssuer(token) !== opts.issuer
    ) {
      throw new TokenError('wrong-issuer');
    }
    throw new TokenError(reason);
  }
}

function unverifiedIssuer(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

/** Maps jose's errors onto the reasons the audit log records. */
export function classifyTokenError(err: unknown): TokenFailure {
  if (err instanceof TokenError) return err.reason;
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'wrong-audience';
    if (err.claim === 'iss') return 'wrong-issuer';
    if (err.claim === 'nbf') return 'not-yet-valid';
    return 'missing-claims';
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'alg-not-allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown-key';
  return 'malformed';
}
