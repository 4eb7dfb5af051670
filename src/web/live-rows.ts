import type { z } from 'zod';
import type { ApiContext, LiveStatsView } from './api-context.js';
import type { liveSessionRows as schema } from './api-schemas-live.js';
import { decodeStatementRuns } from './statement-runs.js';

type Rows = z.input<typeof schema>;

/**
 * The live sessions page's rows: every open session in the store (any gateway), with the
 * live numbers of those this process's gateway runs read from the session objects themselves.
 * A session too young to have its store row yet is shown from the live object alone.
 */
export async function liveSessionRows(ctx: ApiContext): Promise<Rows> {
  const stored = await ctx.queries.liveSessions();
  const here = new Map((ctx.live?.list() ?? []).map((s) => [s.id, s]));
  const now = Date.now();
  const sessions: Rows = stored.map((r) => {
    const own = here.get(r.id);
    here.delete(r.id);
    const st = own?.stats?.();
    return {
      ...r,
      here: own !== undefined,
      anomalies: Math.max(r.anomalies, st?.anomalies ?? 0),
      accessRequest: r.accessRequest ?? own?.request ?? null,
      live: st ? live(st, now) : null,
      lastSeen: null,
    };
  });
  await addLastSeen(ctx, sessions);
  for (const own of here.values()) {
    const st = own.stats?.();
    sessions.push({
      id: own.id,
      here: true,
      gatewayId: ctx.config.gatewayId,
      username: own.user,
      target: own.target,
      database: st?.database ?? null,
      upstreamRole: st?.upstreamRole ?? null,
      applicationName: st?.applicationName ?? null,
      clientAddr: own.clientAddr,
      startedAt: own.startedAt,
      policyRule: st?.rule ?? null,
      accessRequest: own.request ?? null,
      readOnly: st?.readOnly ?? false,
      anomalies: st?.anomalies ?? 0,
      live: st ? live(st, now) : null,
      lastSeen: null,
    });
  }
  return sessions;
}

/** For sessions this gateway does not run: the newest statement their audit trail has (written in batches, so a moment behind). */
async function addLastSeen(ctx: ApiContext, sessions: Rows): Promise<void> {
  const remote = sessions.filter((s) => !s.here);
  const events = await ctx.queries.lastStatementEvents(remote.map((s) => s.id));
  const byId = new Map(remote.map((s) => [s.id, s]));
  for (const e of events) {
    const last = decodeStatementRuns(e.payload)?.at(-1);
    const row = byId.get(e.sessionId);
    if (last && row) row.lastSeen = { sql: last.sql.join('; ').slice(0, 2000), at: last.at };
  }
}

function live(st: LiveStatsView, now: number): NonNullable<Rows[number]['live']> {
  return {
    state: st.state,
    transaction: st.transaction,
    statement: st.statement,
    statementSince: st.statementSince,
    runningMs: st.statementSince ? Math.max(0, now - st.statementSince.getTime()) : null,
    statements: st.statements,
    rowsToClient: st.rowsToClient,
    bytesFromClient: st.bytesFromClient,
    bytesToClient: st.bytesToClient,
  };
}
