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

/** The sessions of the window, read once: sessions have no time index, so one scan serves every figure. */
const SESSION_FIGURES = `
  with s as materialized (
    select username, target, end_reason, statements, date_trunc('hour', started_at) as b
      from sessions where started_at > now() - make_interval(hours => $1)),
  h as (select generate_series(date_trunc('hour', now() - make_interval(hours => $1)), date_trunc('hour', now()), interval '1 hour') as bucket),
  e as (select date_trunc('hour', at) as b, count(*)::int as n from auth_events
         where outcome = 'failure' and at > now() - make_interval(hours => $1) group by 1),
  a as (select date_trunc('hour', at) as b, count(*)::int as n from anomalies
         where at > now() - make_interval(hours => $1) group by 1),
  per_hour as (select b, count(*)::int as n from s group by b)
  select
    (select coalesce(json_agg(x order by x.bucket), '[]') from (
       select h.bucket, coalesce(p.n, 0) as sessions, coalesce(e.n, 0) as refused, coalesce(a.n, 0) as anomalies
         from h left join per_hour p on p.b = h.bucket left join e on e.b = h.bucket left join a on a.b = h.bucket) x) as series,
    (select coalesce(json_agg(x), '[]') from (
       select coalesce(username, '(unknown)') as label, count(*)::int as n from s group by 1 order by 2 desc, 1 limit 50) x) as users,
    (select coalesce(json_agg(x), '[]') from (
       select coalesce(target, '(none)') as label, count(*)::int as n from s group by 1 order by 2 desc, 1 limit 50) x) as targets,
    (select coalesce(json_agg(x), '[]') from (
       select coalesce(end_reason, 'running') as label, count(*)::int as n from s group by 1 order by 2 desc, 1) x) as ends,
    (select count(*)::int from s) as sessions,
    (select coalesce(sum(statements), 0)::float8 from s) as statements`;

export class DashboardQueries {
  constructor(private readonly store: Store) {}

  async dashboard(hours: number): Promise<Dashboard> {
    const q = <R extends object>(sql: string, params: unknown[] = []) =>
      this.store.sql.query<R>(sql, params).then((r) => r.rows);
    const since = `now() - make_interval(hours => $1)`;
    const counts = (sql: string, params: unknown[] = [hours]) => q<Count>(sql, params).then(topWithOther);
    const [live, figures, refusals, anomalies, refusedTotal] = await Promise.all([
      // Open rows older than two days are lost records (a gateway that died), as on the live page.
      counts(
        `select gateway_id as label, count(*)::int as n from sessions
          where ended_at is null and started_at > now() - interval '2 days' group by 1 order by 2 desc, 1`,
        [],
      ),
      q<{
        series: Array<Omit<HourPoint, 'bucket'> & { bucket: string }>;
        users: Count[];
        targets: Count[];
        ends: Count[];
        sessions: number;
        statements: number;
      }>(SESSION_FIGURES, [hours]),
      // A refusal's reason starts with its kind ("policy: …", "throttled: …"); the rest names rules and users.
      counts(
        `select coalesce(nullif(left(split_part(reason, ':', 1), 60), ''), 'unknown') as label, count(*)::int as n
           from auth_events where outcome = 'failure' and at > ${since} group by 1 order by 2 desc, 1`,
      ),
      counts(
        `select kind as label, count(*)::int as n from anomalies where at > ${since} group by 1 order by 2 desc, 1`,
      ),
      q<{ refused: number; anomalies: number }>(
        `select (select count(*)::int from auth_events where outcome = 'failure' and at > ${since}) as refused,
                (select count(*)::int from anomalies where at > ${since}) as anomalies`,
        [hours],
      ),
    ]);
    const f = figures[0]!;
    return {
      at: new Date(),
      hours,
      liveNow: live.reduce((n, r) => n + r.n, 0),
      liveByGateway: live,
      series: f.series.map((p) => ({ ...p, bucket: new Date(p.bucket) })),
      refusalsByReason: refusals,
      anomaliesByKind: anomalies,
      endReasons: topWithOther(f.ends),
      topUsers: topWithOther(f.users),
      topTargets: topWithOther(f.targets),
      totals: {
        sessions: f.sessions,
        refused: refusedTotal[0]?.refused ?? 0,
        anomalies: refusedTotal[0]?.anomalies ?? 0,
        statements: f.statements,
      },
    };
  }
}
