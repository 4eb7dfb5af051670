import { randomBytes } from 'node:crypto';
import { parseFields } from '../protocol/backend-messages.js';
import { errorResponse } from '../protocol/backend-writer.js';
import { Fe } from '../protocol/constants.js';
import { parseMessage, queryMessage, statementText } from '../protocol/frontend-writer.js';
import type { RelayObserver } from './observer.js';

/**
 * Blocks a statement without taking the protocol out of step. The blocked Query, Parse or
 * FunctionCall is replaced by one Postgres rejects at once as a syntax error naming a
 * one-time marker, so Postgres itself does everything that follows an error exactly as it
 * would for the original: the extended protocol's skip to Sync, ReadyForQuery with the
 * right transaction status, a failed transaction block when inside one. Only that error is
 * swapped for ours on the way back; nothing of the blocked statement reaches the server.
 */
export class StatementBlocker {
  /** Markers of blocked statements whose errors have not come back yet, with our error. */
  private readonly waiting = new Map<string, Buffer>();

  /** A held client frame: the bytes to send instead, 'end' to drop it (session ending), or null to forward it. */
  onClientFrame(type: number, body: Buffer, observer: RelayObserver): Buffer | 'end' | null {
    let verdict;
    let statement = '';
    if (type === Fe.Bind) {
      const portalEnd = body.indexOf(0);
      const stmtEnd = portalEnd < 0 ? -1 : body.indexOf(0, portalEnd + 1);
      if (stmtEnd > portalEnd) observer.bind(body.toString('utf8', portalEnd + 1, stmtEnd), body);
      return null;
    }
    if (type === Fe.FunctionCall) {
      verdict = observer.statement('F', null, '', body.length >= 4 ? body.readUInt32BE(0) : 0);
    } else {
      const text = statementText(type === Fe.Query ? 'Q' : 'P', body);
      if (!text) return null; // malformed: Postgres answers it
      statement = text.statement;
      verdict = observer.statement(type === Fe.Query ? 'Q' : 'P', text.sql, text.statement);
    }
    if (!verdict) return null;
    if (verdict.action === 'end') return 'end';
    const marker = `pgward_blocked_${randomBytes(8).toString('hex')}`;
    this.waiting.set(marker, errorResponse({ severity: 'ERROR', code: verdict.code, message: verdict.message, detail: verdict.detail }));
    return type === Fe.Parse ? parseMessage(statement, marker) : queryMessage(marker);
  }

  /** An ErrorResponse from upstream: its SQLSTATE, and our error instead if it answers a blocked statement. */
  onUpstreamError(body: Buffer): { ours: Buffer | null; code: string | null } {
    let fields;
    try {
      fields = parseFields(body);
    } catch {
      return { ours: null, code: null };
    }
    if (this.waiting.size === 0) return { ours: null, code: fields.code };
    const marker = /pgward_blocked_[0-9a-f]{16}/.exec(fields.message)?.[0];
    const ours = marker ? this.waiting.get(marker) : undefined;
    if (!marker || !ours) return { ours: null, code: fields.code };
    this.waiting.delete(marker);
    return { ours, code: 'blocked' };
  }
}
