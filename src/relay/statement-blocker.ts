import { randomBytes } from 'node:crypto';
import { parseFields } from '../protocol/backend-messages.js';
import { errorResponse } from '../protocol/backend-writer.js';
import { Fe } from '../protocol/constants.js';
import { parseMessage, queryMessage, statementText } from '../protocol/frontend-writer.js';

export interface BlockVerdict {
  code: string;
  message: string;
  detail?: string | undefined;
}

export type StatementCheck = (sql: string) => BlockVerdict | null;

/**
 * Blocks a statement without taking the protocol out of step. The blocked Query or Parse
 * is replaced by one Postgres rejects at once as a syntax error naming a one-time marker,
 * so Postgres itself does everything that follows an error exactly as it would for the
 * original: the extended protocol's skip to Sync, ReadyForQuery with the right transaction
 * status, a failed transaction block when inside one. Only that error is swapped for ours
 * on the way back; nothing of the blocked statement reaches the server.
 */
export class StatementBlocker {
  /** Markers of blocked statements whose errors have not come back yet, with our error. */
  private readonly waiting = new Map<string, Buffer>();

  constructor(
    private readonly check: StatementCheck,
    private readonly onBlock?: ((reason: string, sql: string) => void) | undefined,
  ) {}

  get pending(): boolean {
    return this.waiting.size > 0;
  }

  /** A Query or Parse from the client: the frame to send instead, or null to forward it. */
  onClientStatement(type: number, body: Buffer): Buffer | null {
    const kind = type === Fe.Query ? 'Q' : type === Fe.Parse ? 'P' : null;
    if (!kind) return null;
    const text = statementText(kind, body);
    if (!text) return null; // malformed: Postgres answers it
    const verdict = this.check(text.sql);
    if (!verdict) return null;
    const marker = `pgward_blocked_${randomBytes(8).toString('hex')}`;
    this.waiting.set(marker, errorResponse({ severity: 'ERROR', code: verdict.code, message: verdict.message, detail: verdict.detail }));
    this.onBlock?.(verdict.detail ?? verdict.message, text.sql);
    return kind === 'Q' ? queryMessage(marker) : parseMessage(text.statement, marker);
  }

  /** An ErrorResponse from upstream: ours instead, if it answers a blocked statement. */
  onUpstreamError(body: Buffer): Buffer | null {
    let message: string;
    try {
      message = parseFields(body).message;
    } catch {
      return null;
    }
    const marker = /pgward_blocked_[0-9a-f]{16}/.exec(message)?.[0];
    if (!marker) return null;
    const ours = this.waiting.get(marker);
    if (!ours) return null;
    this.waiting.delete(marker);
    return ours;
  }
}
