import {
  BACKEND_SHORT_MESSAGE_LIMIT,
  Be,
  Fe,
  LARGE_MESSAGE_LIMIT,
  MAX_AUTH_TOKEN_LENGTH,
  SMALL_MESSAGE_LIMIT,
} from './constants.js';
import { SqlState } from './sqlstate.js';
import { PgError } from './errors.js';

/**
 * Largest allowed length word per type byte, 0 for a type that may not appear.
 * Indexed by type byte so the relay's hot path is one array load.
 */
export type LengthLimits = Uint32Array;

const table = (): LengthLimits => new Uint32Array(256);

/** The tables are read-only once built, so every session shares one per setting (1 KB each). */
const built = new Map<string, LengthLimits>();
function shared(key: string, build: () => LengthLimits): LengthLimits {
  let t = built.get(key);
  if (!t) built.set(key, (t = build()));
  return t;
}

/**
 * Limits for messages a client sends after authentication. Postgres allows 1 GiB for the
 * large types; `maxMessage` lets an operator be stricter (BAD_INPUTS F4).
 */
export function frontendLimits(maxMessage: number): LengthLimits {
  return shared(`fe:${maxMessage}`, () => buildFrontendLimits(maxMessage));
}

function buildFrontendLimits(maxMessage: number): LengthLimits {
  const t = table();
  const large = Math.min(maxMessage, LARGE_MESSAGE_LIMIT);
  for (const type of [Fe.Query, Fe.FunctionCall, Fe.Bind, Fe.Parse, Fe.CopyData]) t[type] = large;
  for (const type of [Fe.Terminate, Fe.Close, Fe.Describe, Fe.Execute, Fe.Flush, Fe.Sync, Fe.CopyDone, Fe.CopyFail]) {
    t[type] = SMALL_MESSAGE_LIMIT;
  }
  return t;
}

/**
 * A client message Postgres would take (up to its 1 GiB) but over the gateway's
 * limits.maxMessageBytes: a FATAL that says so. Closing without a word, as Postgres does for
 * lengths it cannot take at all, would leave someone whose large INSERT or bytea parameter
 * crossed the gateway's lower limit with only "server closed the connection unexpectedly".
 */
export function messageTooLarge(length: number, maxMessage: number): PgError {
  return new PgError(
    SqlState.programLimitExceeded,
    `pgward: message of ${length - 4} bytes is over the gateway's limit of ${maxMessage - 4} bytes`,
    {
      hint: 'Send bulk data with COPY, or in smaller statements; the limit is the gateway setting limits.maxMessageBytes.',
    },
  );
}

/**
 * During authentication only `p` is valid, but other frontend types are framed (with the
 * small cap) so the client gets Postgres's "expected password response" error for them.
 */
export function authLimits(): LengthLimits {
  return shared('auth', buildAuthLimits);
}

function buildAuthLimits(): LengthLimits {
  const t = table();
  for (const type of Object.values(Fe)) t[type] = SMALL_MESSAGE_LIMIT;
  t[Fe.Password] = MAX_AUTH_TOKEN_LENGTH;
  return t;
}

/** Limits for what an upstream server sends, mirroring libpq's lost-sync rule. */
export function backendLimits(maxMessage: number): LengthLimits {
  return shared(`be:${maxMessage}`, () => buildBackendLimits(maxMessage));
}

function buildBackendLimits(maxMessage: number): LengthLimits {
  const t = table();
  const large = Math.min(maxMessage, LARGE_MESSAGE_LIMIT);
  for (const type of Object.values(Be)) t[type] = BACKEND_SHORT_MESSAGE_LIMIT;
  for (const type of [
    Be.CopyData,
    Be.DataRow,
    Be.ErrorResponse,
    Be.FunctionCallResponse,
    Be.NoticeResponse,
    Be.NotificationResponse,
    Be.RowDescription,
  ]) {
    t[type] = large;
  }
  return t;
}

/** What a server may send before ReadyForQuery, with libpq's stricter startup caps (fe-connect.c). */
export function upstreamHandshakeLimits(): LengthLimits {
  return shared('upstream-handshake', buildUpstreamHandshakeLimits);
}

function buildUpstreamHandshakeLimits(): LengthLimits {
  const t = table();
  t[Be.Authentication] = 2000;
  t[Be.NegotiateProtocolVersion] = 2000;
  t[Be.ErrorResponse] = 30_000;
  t[Be.NoticeResponse] = 30_000;
  t[Be.ParameterStatus] = 30_000;
  t[Be.BackendKeyData] = 4 + 4 + 256;
  t[Be.ReadyForQuery] = 5;
  return t;
}
