import { TokenError } from '../../auth/token.js';
import { parsePasswordMessage } from '../../protocol/auth-messages.js';
import * as W from '../../protocol/backend-writer.js';
import { passwordFailed, PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { IssuerUnavailableError } from '../../identity/workload.js';
import type { ClientLink } from '../client-link.js';
import {
  controlPlaneDown,
  newTokenHint,
  unknownProofHint,
  type Authenticated,
  type AuthenticatePorts,
} from './auth-common.js';

/** Cleartext password: a gateway token, or a JWT of a configured external issuer (workload identity). */
export async function cleartextAuth(
  link: ClientLink,
  user: string,
  ports: Pick<AuthenticatePorts, 'workload' | 'tokens' | 'consoleUrl'>,
): Promise<Authenticated> {
  if (!link.tls) {
    // Never ask for a token over an unencrypted connection.
    throw new PgError(
      SqlState.invalidAuthorizationSpecification,
      'token authentication requires an encrypted connection',
      {
        hint: 'Connect with sslmode=require or stronger.',
      },
    );
  }
  link.write(W.authenticationCleartextPassword());
  const password = parsePasswordMessage(await link.passwordMessage('password'));
  if (password.length === 0) throw new PgError(SqlState.invalidPassword, 'empty password returned by client');
  const workloadToken = ports.workload?.handles(password) ?? false;
  try {
    const workload = workloadToken ? ports.workload : null;
    const identity = workload
      ? await workload.verify(user, password)
      : await ports.tokens.verifyPassword(user, password);
    link.write(W.authenticationOk());
    return {
      user,
      groups: identity.groups,
      tokenJti: workload ? null : identity.jti,
      expiresAt: identity.expiresAt,
      method: workload ? 'workload-jwt' : 'password',
      claims: identity.claims ?? {},
    };
  } catch (err) {
    if (err instanceof TokenError) {
      // A workload's way back is its issuer, not a sign-in: its refusal stays Postgres's bare words.
      if (workloadToken) throw passwordFailed(user, `token ${err.reason}`);
      // The client sent the token itself: telling its holder why it died tells nobody else anything.
      const detail =
        err.reason === 'expired'
          ? 'The token expired.'
          : err.reason === 'revoked'
            ? 'The token was revoked.'
            : undefined;
      throw passwordFailed(
        user,
        `token ${err.reason}`,
        detail ? { detail, hint: newTokenHint(ports.consoleUrl) } : { hint: unknownProofHint(ports.consoleUrl) },
      );
    }
    // The issuer's keys cannot be had: fail closed, and say it is not the client's token.
    if (err instanceof IssuerUnavailableError)
      throw new PgError(SqlState.cannotConnectNow, 'pgward cannot verify credentials right now', {
        internalReason: `external issuer unavailable: ${err.message}`,
      });
    throw controlPlaneDown(err);
  }
}
