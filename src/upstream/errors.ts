import type { ServerFields } from '../protocol/backend-messages.js';

export type UpstreamFailure = 'unreachable' | 'timeout' | 'tls' | 'auth' | 'server-error' | 'protocol';

/**
 * A failed upstream connect. `serverError` is set when Postgres itself refused (bad
 * database, too many connections); the message never contains the vaulted secret.
 */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    readonly serverError?: ServerFields,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}
