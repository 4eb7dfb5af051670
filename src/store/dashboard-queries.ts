import type { Store } from './store.js';

/*
 * What the console's dashboard reads: counts over a window of hours from the rows the gateways
 * already write (sessions, auth_events, anomalies). Every figure is an aggregate; no statement
 * text or detail leaves here.
 */

export interface Count {
  label: string;
  n: number;
}

export interface HourPoint {
  bucket: Date;
  sessions: number;
  refused: number;
  anomalies: number;
}

export interface Dashboard {
  at: Date;
  hours: number;
  liveNow: number;
  liveByGateway: Count[];
  series: HourPoint[];
  refusalsByReason: Count[];
  anomaliesByKind: Count[];
  endReasons: Count[];
  topUsers: Count[];
  topTargets: Count[];
  totals: { sessions: number; refused: number; anomalies: number; statements: number };
}

/** Bars per chart: the rest are summed into "other" so a chart stays readable. */
const TOP = 8;

function topWithOther(rows: Count[]): Count[] {
  if (rows.length <= TOP) return rows;
  const other = rows.slice(TOP - 1).reduce((n, r) => n + r.n, 0);
  return [...rows.slice(0, TOP - 1), { label: 'other', n: other }];
}

export class DashboardQueries {
  constructor(private readonly store: Store) {}

  async dashboard(hours: number): Promise<Dashboard> {
    const q = <R extends object>(sql: string, params: unknown[] = []) =>
      this.store.sql.query<R>(sql, params).then((r) => r.rows);
    const since = `now() - make_interval(hours => $1)`;
    const counts = (sql: string, params: unknown[] = [hours]) => q<Count>(sql, params).then(topWithOther);
    const [live, series, refusals, anomalies, endReasons, users, targets, totals] = await Promise.all([
      // Open rows older than two days are lost records (a gateway that died), as on the live page.
      counts(
        `select gateway_id as label, count(*)::int as n from sessions
          where ended_at is null and started_at > now() - interval '2 days' group by 1 order by 2 desc, 1`,
        [],
      ),
      q<HourPoint>(
        `with h as (select generate_series(date_trunc('hour', ${since}), date_trunc('hour', now()), interval '1 hour') as bucket),
              s as (select date_trunc('hour', started_at) as b, count(*)::int as n from sessions where started_at > ${since} group by 1),
              e as (select date_trunc('hour', at) as b, count(*)::int as n from auth_events
                     where outcome = 'failure' and at > ${since} group by 1),
              a as (select date_trunc('hour', at) as b, count(*)::int as n from anomalies where at > ${since} group by 1)
         select h.bucket, coalesce(s.n, 0) as sessions, coalesce(e.n, 0) as refused, coalesce(a.n, 0) as anomalies
           from h left join s on s.b = h.bucket left join e on e.b = h.bucket left join a on a.b = h.bucket
          order by h.bucket`,
        [hours],
      ),
      // A refusal's reason starts with its kind ("policy: …", "throttled: …"); the rest names rules and users.
      counts(
        `select coalesce(nullif(left(split_part(reason, ':', 1), 60), ''), 'unknown') as label, count(*)::int as n
           from auth_events where outcome = 'failure' and at > ${since} group by 1 order by 2 desc, 1`,
      ),
      counts(
        `select kind as label, count(*)::int as n from anomalies where at > ${since} group by 1 order by 2 desc, 1`,
      ),
      counts(
        `select coalesce(end_reason, 'running') as label, count(*)::int as n from sessions
          where started_at > ${since} group by 1 order by 2 desc, 1`,
      ),
      counts(
        `select coalesce(username, '(unknown)') as label, count(*)::int as n from sessions
          where started_at > ${since} group by 1 order by 2 desc, 1 limit 50`,
      ),
      counts(
        `select coalesce(target, '(none)') as label, count(*)::int as n from sessions
          where started_at > ${since} group by 1 order by 2 desc, 1 limit 50`,
      ),
      q<{ sessions: number; refused: number; anomalies: number; statements: number }>(
        `select (select count(*)::int from sessions where started_at > ${since}) as sessions,
                (select count(*)::int from auth_events where outcome = 'failure' and at > ${since}) as refused,
                (select count(*)::int from anomalies where at > ${since}) as anomalies,
                (select coalesce(sum(statements), 0)::int from sessions where started_at > ${since}) as statements`,
        [hours],
      ),
    ]);
    return {
      at: new Date(),
      hours,
      liveNow: live.reduce((n, r) => n + r.n, 0),
      liveByGateway: live,
      series,
      refusalsByReason: refusals,
      anomaliesByKind: anomalies,
      endReasons,
      topUsers: users,
      topTargets: targets,
      totals: totals[0] ?? { sessions: 0, refused: 0, anomalies: 0, statements: 0 },
    };
  }
}
