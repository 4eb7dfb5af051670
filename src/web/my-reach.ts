import type { z } from 'zod';
import { dryRun } from '../policy/dry-run.js';
import { inSchedule, type Schedule } from '../policy/schedule.js';
import type { PolicySet } from '../policy/schema.js';
import type { AccessRequestRow } from '../store/access-request-queries.js';
import type { myReach } from './api-schemas-live.js';
import { connectLines, type PgEndpoint } from './connect-lines.js';
import type { GatewayConfig } from '../config/schema.js';

type Reach = z.input<typeof myReach>;
type Place = Reach['databases'][number];

export interface ReachInput {
  user: string;
  groups: string[];
  tokenExpiresAt: Date;
  /** The browser's address: rules limited to sources are judged from where the person is now. */
  from: string;
  at: Date;
  policy: PolicySet;
  targets: GatewayConfig['targets'];
  pg: PgEndpoint | undefined;
  /** The person's approved access requests still in force. */
  requests: AccessRequestRow[];
}

/** How far ahead a schedule's window end is looked for (a window open longer reads as open). */
const SCHEDULE_HORIZON_MIN = 48 * 60;

/**
 * When the schedule's window that contains `at` closes: the first whole minute after `at`
 * outside it (windows are whole minutes of wall-clock time), or null if it stays open for the
 * next 48 hours.
 */
export function windowEnd(s: Schedule, at: Date): Date | null {
  const first = Math.floor(at.getTime() / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < SCHEDULE_HORIZON_MIN; i++) {
    const t = new Date(first + i * 60_000);
    if (!inSchedule(s, t)) return t;
  }
  return null;
}

/** "8h", "90 min", "45 s": a duration as people write it. */
function words(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * Which databases and roles the person reaches now: each database a target serves by a plain
 * name, judged by the same dry run as the policy editor's (so the same evaluator as a real
 * login) with the person's user and groups, from this browser's address, now; plus the
 * databases an approved access request opens for them.
 */
export function reachOf(i: ReachInput): Reach['databases'] {
  const homes = Object.entries(i.targets).map(([name, t]) => ({
    name,
    database: t.database,
    databases: t.databases,
    role: t.role,
  }));
  const places: Place[] = [];
  for (const home of homes) {
    // A client names a target by its own name; other databases only where a plain name is listed.
    const names = [home.name, ...home.databases.filter((d) => !/[*?[]/.test(d) && d !== home.database)];
    for (const name of names) places.push(judge(i, home.name, name));
  }
  for (const r of i.requests) {
    if (!r.expiresAt || r.expiresAt <= i.at) continue;
    const db = r.database === i.targets[r.target]?.database ? r.target : r.database;
    // A request opens what the standing rules refuse: it takes the refused entry's place.
    const refused = places.findIndex((p) => p.target === r.target && p.database === db && !p.granted);
    if (refused >= 0) places.splice(refused, 1);
    places.push({
      target: r.target,
      database: db,
      granted: true,
      role: r.role,
      rule: r.rule,
      readOnly: false,
      until: r.expiresAt < i.tokenExpiresAt ? r.expiresAt : i.tokenExpiresAt,
      conditions: [`approved access request ${r.id.slice(0, 8)}`],
      accessRequest: r.id,
      message: null,
      psql: psqlLine(i, db),
    });
  }
  return places;
}

function judge(i: ReachInput, target: string, database: string): Place {
  const d = dryRun(
    i.policy,
    Object.entries(i.targets).map(([name, t]) => ({
      name,
      database: t.database,
      databases: t.databases,
      role: t.role,
    })),
    { user: i.user, groups: i.groups, database, from: i.from, at: i.at },
  );
  if (d.kind === 'deny')
    return {
      target,
      database,
      granted: false,
      role: null,
      rule: null,
      readOnly: false,
      until: null,
      conditions: [],
      accessRequest: null,
      // What psql would be told (never the audit-only reason, which names rules).
      message: `${d.message}${d.hint ? ` (${d.hint})` : ''}`,
      psql: null,
    };
  const rule = i.policy.rules.find(({ rule: r }) => r.name === d.rule)?.rule;
  const conditions: string[] = [];
  if (rule?.schedule) {
    const s = rule.schedule;
    conditions.push(`${s.days?.join(', ') ?? 'every day'} ${s.from}–${s.to} (${s.timezone})`);
  }
  if (rule?.sources) conditions.push(`from ${rule.sources.join(', ')}`);
  if (d.session.maxDurationMs !== null) conditions.push(`sessions end after ${words(d.session.maxDurationMs)}`);
  if (d.session.idleTimeoutMs !== null) conditions.push(`idle sessions end after ${words(d.session.idleTimeoutMs)}`);
  // The access ends with the token, or earlier when the rule's time window closes first.
  const closes = rule?.schedule ? windowEnd(rule.schedule, i.at) : null;
  return {
    target,
    database,
    granted: true,
    role: d.role,
    rule: d.rule,
    readOnly: d.session.readOnly,
    until: closes && closes < i.tokenExpiresAt ? closes : i.tokenExpiresAt,
    conditions,
    accessRequest: null,
    message: null,
    psql: psqlLine(i, database),
  };
}

/** The psql line without the password: the token is on the Connect page (or comes from pgward login). */
function psqlLine(i: ReachInput, database: string): string | null {
  if (!i.pg) return null;
  return connectLines(i.pg, i.user, database, '').psql.replace(/^PGPASSWORD='[^']*' /, '');
}
