import { advertisedMechanisms, ScramServerExchange } from '../../auth/scram-server.js';
import type { ScramLookup } from '../../identity/token-service.js';
import { parseSASLInitialResponse } from '../../protocol/auth-messages.js';
import * as W from '../../protocol/backend-writer.js';
import { MAX_SASL_MESSAGE_LENGTH } from '../../protocol/constants.js';
import { passwordFailed, PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { ClientLink } from '../client-link.js';
import { deadToken, unknownProofHint, type Authenticated, type AuthenticatePorts } from './auth-common.js';

/** SCRAM-SHA-256 (-PLUS over TLS) against the verifiers of the user's tokens. */
export async function scramAuth(
  link: ClientLink,
  user: string,
  lookup: ScramLookup,
  ports: Pick<AuthenticatePorts, 'tls' | 'scramMockSecret' | 'auth' | 'consoleUrl'>,
): Promise<Authenticated> {
  const onTls = link.tls !== null;
  const exchange = new ScramServerExchange({
    user,
    credentials: lookup.credentials,
    mockSecret: ports.scramMockSecret,
    mockIterations: ports.auth.scramIterations,
    channelBinding: onTls && ports.tls ? ports.tls.channelBinding : null,
  });
  const readSasl = async (): Promise<Buffer> => {
    const body = await link.passwordMessage('SASL');
    // Postgres refuses SASL messages over 1024 bytes as a failed login.
    if (body.length + 4 > MAX_SASL_MESSAGE_LENGTH) throw passwordFailed(user, 'SASL message too long');
    return body;
  };
  link.write(W.authenticationSASL(advertisedMechanisms(onTls)));
  const initial = parseSASLInitialResponse(await readSasl());
  let started = exchange.start(initial.mechanism, initial.data);
  if ('emptyContinue' in started) {
    link.write(W.authenticationSASLContinue(''));
    started = exchange.clientFirst(await readSasl());
  }
  link.write(W.authenticationSASLContinue(started.serverFirst));
  let proved: { serverFinal: string; verifierId: string };
  try {
    proved = exchange.clientFinal(await readSasl());
  } catch (err) {
    // A proof no token matches: the same message as Postgres's, with the way to a new token
    // (it says nothing about whether the user or any token exists).
    if (err instanceof PgError && err.code === SqlState.invalidPassword)
      throw new PgError(err.code, err.message, {
        internalReason: err.internalReason,
        hint: unknownProofHint(ports.consoleUrl),
      });
    throw err;
  }
  const { serverFinal, verifierId } = proved;
  const token = lookup.tokens.get(verifierId);
  if (!token) throw passwordFailed(user, 'password mismatch');
  // The proof matched this token's verifier, so the client holds it: it may learn why it is refused.
  if (token.revokedAt || token.expiresAt.getTime() <= Date.now()) throw deadToken(user, token, ports.consoleUrl);
  link.writeAll([W.authenticationSASLFinal(serverFinal), W.authenticationOk()]);
  const plus = initial.mechanism === 'SCRAM-SHA-256-PLUS';
  return {
    user,
    groups: token.groups,
    tokenJti: verifierId,
    expiresAt: token.expiresAt,
    method: plus ? 'scram-sha-256-plus' : 'scram-sha-256',
    claims: {},
  };
}
