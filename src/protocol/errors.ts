import { SqlState } from './sqlstate.js';

export type Severity = 'FATAL' | 'ERROR' | 'WARNING' | 'NOTICE' | 'LOG' | 'INFO' | 'DEBUG';

export interface PgErrorFields {
  severity?: Severity;
  detail?: string;
  hint?: string;
  /** Server-side reason never shown to the client (audit and logs only). */
  internalReason?: string;
}

/**
 * An error that reaches a Postgres client as an ErrorResponse. The message, detail and
 * hint are shown to the client, so they must never contain secrets; put what only
 * operators may see in `internalReason`.
 */
export class PgError extends Error {
  readonly code: string;
  readonly severity: Severity;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly internalReason: string | undefined;

  constructor(code: string, message: string, fields: PgErrorFields = {}) {
    super(message);
    this.name = 'PgError';
    this.code = code;
    this.severity = fields.severity ?? 'FATAL';
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.internalReason = fields.internalReason;
  }
}

/**
 * The peer broke framing so badly that Postgres would log and close without answering
 * (bad length word, truncated packet). Never sent to the client.
 */
export class ProtocolFramingError extends Error {
  readonly code = SqlState.protocolViolation;
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolFramingError';
  }
}

export const protocolViolation = (message: string, detail?: string): PgError =>
  new PgError(SqlState.protocolViolation, message, { detail });

/**
 * The one message every password failure gets, whether the user exists or not. Detail and
 * hint only where they tell nothing to someone who does not hold the secret.
 */
export const passwordFailed = (
  user: string,
  internalReason: string,
  extra: { detail?: string; hint?: string } = {},
): PgError =>
  new PgError(SqlState.invalidPassword, `password authentication failed for user "${user}"`, {
    internalReason,
    ...extra,
  });
