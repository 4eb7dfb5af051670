import type { z } from 'zod';
import type { ApiContext, LiveStatsView } from './api-context.js';
import type { liveSessionRows as schema } from './api-schemas-live.js';

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
    };
  });
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
    });
  }
  return sessions;
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
