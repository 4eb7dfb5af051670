import { AddressSet } from '../util/address-set.js';
import { SqlState } from '../protocol/sqlstate.js';
import { printable } from '../protocol/startup.js';
import { globMatch } from '../util/glob.js';
import { parseDuration } from '../util/duration.js';
import { inSchedule } from './schedule.js';
import type { AllowRule, AuthMethodName, ParamRule, PolicySet, Rule, SourcedRule } from './schema.js';
import { BASELINE_SETTINGS, type StartupSettings } from './startup-settings.js';

/** Everything a decision depends on; the evaluator reads nothing else (no clock, no I/O). */
export interface AccessRequest {
  user: string;
  groups: string[];
  claims: Record<string, string>;
  method: AuthMethodName;
  /** Client IP address as the socket reports it. */
  source: string;
  tls: { version: string | null; channelBinding: boolean };
  target: string;
  /** The database name the client sent (for messages). */
  clientDatabase: string;
  /** The upstream database that name resolved to, and the target's own database. */
  database: string;
  targetDatabase: string;
  targetRole: string;
  settings: StartupSettings;
  at: Date;
}

export interface SessionRules {
  readOnly: boolean;
  maxDurationMs: number | null;
  idleTimeoutMs: number | null;
  detector: string;
}

export interface Grant {
  kind: 'grant';
  rule: string;
  file: string;
  target: string;
  database: string;
  role: string;
  /** Settings to send upstream as startup parameters: each once, with the value that was checked. */
  forward: Array<[string, string]>;
  replication: string | null;
  session: SessionRules;
  policyVersion: number | null;
  /** The access request whose approval made this grant (requestable rules only). */
  request?: string;
}

/** An approved access request in force: one requestable rule for one person, target and database. */
export interface TemporaryGrant {
  request: string;
  user: string;
  rule: string;
  target: string;
  database: string;
  expiresAt: Date;
}

export interface Denial {
  kind: 'deny';
  rule: string | null;
  /** The full reason, for the audit log only. */
  reason: string;
  /** What the client sees: useful, but naming no rule. */
  code: string;
  message: string;
  hint?: string;
}

export type Decision = Grant | Denial;

const READ_ONLY_SETTINGS = new Set(['default_transaction_read_only', 'transaction_read_only']);
const TRUE_VALUES = new Set(['on', 'true', 'yes', '1', 't', 'y']);

const sourceSets = new WeakMap<Rule, AddressSet>();

function inSources(rule: Rule, source: string): boolean {
  let set = sourceSets.get(rule);
  if (!set) sourceSets.set(rule, (set = new AddressSet(rule.sources ?? [])));
  return set.has(source);
}

export function subjectMatches(rule: Rule, req: Pick<AccessRequest, 'user' | 'groups' | 'claims'>): boolean {
  const s = rule.subjects;
  const named = s.users !== undefined || s.groups !== undefined;
  const byName =
    (s.users?.some((u) => globMatch(u, req.user)) ?? false) || (s.groups?.some((g) => req.groups.includes(g)) ?? false);
  if (named && !byName) return false;
  for (const [k, v] of Object.entries(s.claims ?? {})) if (req.claims[k] !== v) return false;
  return true;
}

export function placeMatches(rule: Rule, req: Pick<AccessRequest, 'target' | 'database' | 'targetDatabase'>): boolean {
  if (!rule.targets.some((t) => globMatch(t, req.target))) return false;
  // An allow rule without databases covers the target's own database; a deny rule covers all.
  const dbs = rule.databases ?? (rule.effect === 'allow' ? [req.targetDatabase] : ['*']);
  return dbs.some((d) => globMatch(d, req.database));
}

const patterns = new WeakMap<object, RegExp>();

function paramAllows(rule: ParamRule, value: string): boolean {
  if (rule === '*') return true;
  if (Array.isArray(rule)) return rule.includes(value);
  let re = patterns.get(rule);
  if (!re) {
    re = new RegExp(`^(?:${rule.pattern})$`, 'u');
    patterns.set(rule, re);
  }
  return re.test(value);
}

const denial = (rule: string | null, reason: string, code: string, message: string, hint?: string): Denial => ({
  kind: 'deny',
  rule,
  reason,
  code,
  message,
  ...(hint ? { hint } : {}),
});

/** The first condition of an allow rule the request fails, or null if it passes them all. */
function checkAllow(sr: SourcedRule, rule: AllowRule, req: AccessRequest): Denial | null {
  const where = `rule ${rule.name} (${sr.file})`;
  const db = printable(req.clientDatabase);
  if (rule.sources && !inSources(rule, req.source)) {
    return denial(
      rule.name,
      `${where}: source ${req.source} not in ${rule.sources.join(', ')}`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: connections to database "${db}" are not allowed from this address`,
    );
  }
  if (rule.schedule && !inSchedule(rule.schedule, req.at)) {
    const s = rule.schedule;
    return denial(
      rule.name,
      `${where}: outside ${s.days?.join(',') ?? 'daily'} ${s.from}-${s.to} ${s.timezone}`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: connections to database "${db}" are not allowed at this time`,
    );
  }
  if (rule.methods && !rule.methods.includes(req.method)) {
    return denial(
      rule.name,
      `${where}: method ${req.method} not in ${rule.methods.join(', ')}`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: database "${db}" does not accept ${req.method} authentication`,
    );
  }
  if (rule.tls.required && !req.tls.version) {
    return denial(
      rule.name,
      `${where}: TLS required`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: database "${db}" requires an encrypted connection`,
      'Connect with sslmode=verify-full.',
    );
  }
  if (rule.tls.channelBinding === 'required' && !req.tls.channelBinding) {
    return denial(
      rule.name,
      `${where}: channel binding required`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: database "${db}" requires SCRAM-SHA-256-PLUS with channel binding`,
      'Connect with channel_binding=require.',
    );
  }
  if (rule.tls.minVersion === 'TLSv1.3' && req.tls.version !== 'TLSv1.3') {
    return denial(
      rule.name,
      `${where}: TLS ${req.tls.version ?? 'none'} below TLSv1.3`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: database "${db}" requires TLS 1.3`,
    );
  }
  return checkSettings(rule, req, where);
}

function checkSettings(rule: AllowRule, req: AccessRequest, where: string): Denial | null {
  const { settings } = req;
  const refuse = (name: string, why: string): Denial =>
    denial(
      rule.name,
      `${where}: ${why}`,
      SqlState.insufficientPrivilege,
      `startup parameter "${printable(name)}" is not allowed through pgward`,
      'Remove it from the connection string, or ask an administrator to allow it by policy.',
    );
  if (settings.replication !== null) {
    const r = rule.params['replication'];
    if (!r || !paramAllows(r, settings.replication))
      return refuse('replication', `replication=${settings.replication} not granted`);
  }
  for (const [name, value] of settings.effective) {
    const granted = rule.params[name];
    if (settings.duplicated.has(name) && !granted)
      return refuse(name, `${name} given more than once and not named by the grant`);
    if (rule.session.readOnly && READ_ONLY_SETTINGS.has(name) && !TRUE_VALUES.has(value.toLowerCase())) {
      return refuse(name, `${name}=${value} in a read-only session`);
    }
    if (granted) {
      if (!paramAllows(granted, value)) return refuse(name, `${name}=${value} does not match the grant`);
    } else if (!BASELINE_SETTINGS.has(name)) {
      return refuse(name, `${name} not granted`);
    }
  }
  return null;
}

/**
 * The decision for one connection. Deny rules win over allow rules; among allow rules the
 * first (by file name, then position) whose every condition holds grants; no match denies.
 */
export function evaluate(policy: PolicySet, req: AccessRequest, temporary: readonly TemporaryGrant[] = []): Decision {
  const user = printable(req.user);
  const db = printable(req.clientDatabase);
  for (const sr of policy.rules) {
    const r = sr.rule;
    if (r.effect !== 'deny' || !subjectMatches(r, req) || !placeMatches(r, req)) continue;
    if (r.sources && !inSources(r, req.source)) continue;
    if (r.schedule && !inSchedule(r.schedule, req.at)) continue;
    if (r.methods && !r.methods.includes(req.method)) continue;
    return denial(
      r.name,
      `denied by rule ${r.name} (${sr.file})`,
      SqlState.invalidAuthorizationSpecification,
      `pgward: access to database "${db}" is denied for user "${user}"`,
    );
  }
  let first: Denial | null = null;
  let askable: AllowRule | null = null;
  for (const sr of policy.rules) {
    const r = sr.rule;
    if (r.effect !== 'allow' || !subjectMatches(r, req) || !placeMatches(r, req)) continue;
    let request: string | undefined;
    if (r.requestable) {
      // A requestable rule grants only through an approved request in force now.
      request = temporary.find(
        (t) =>
          t.rule === r.name &&
          t.user === req.user &&
          t.target === req.target &&
          t.database === req.database &&
          t.expiresAt.getTime() > req.at.getTime(),
      )?.request;
      if (request === undefined) {
        askable ??= r;
        continue;
      }
    }
    const failed = checkAllow(sr, r, req);
    if (failed) {
      first ??= failed;
      continue;
    }
    const g = grant(sr, r, req, policy.version);
    return request === undefined ? g : { ...g, request };
  }
  if (first) return first;
  const reason = `no allow rule matches user ${req.user} (groups: ${req.groups.join(', ') || 'none'}) on ${req.target}/${req.database}`;
  const message = `pgward: user "${user}" has no access to database "${db}"`;
  if (askable) {
    // Refused only for want of a grant that can be asked for: say how to ask, in the terminal in use.
    const role = askable.role ?? req.targetRole;
    return denial(
      null,
      `${reason}; requestable by rule ${askable.name}`,
      SqlState.invalidAuthorizationSpecification,
      message,
      `Ask for access: pgward request create --target ${printable(req.target)} --database ${printable(req.database)} --role ${printable(role)} --reason "..."`,
    );
  }
  return denial(null, reason, SqlState.invalidAuthorizationSpecification, message);
}

function grant(sr: SourcedRule, r: AllowRule, req: AccessRequest, version: number | null): Grant {
  const forward: Array<[string, string]> = [];
  for (const [name, value] of req.settings.effective) {
    if (!READ_ONLY_SETTINGS.has(name) || !r.session.readOnly) forward.push([name, value]);
  }
  // First layer of a read-only session: the upstream starts read-only (the relay is the second).
  if (r.session.readOnly) forward.push(['default_transaction_read_only', 'on']);
  return {
    kind: 'grant',
    rule: r.name,
    file: sr.file,
    target: req.target,
    database: req.database,
    role: r.role ?? req.targetRole,
    forward,
    replication: req.settings.replication,
    session: {
      readOnly: r.session.readOnly,
      maxDurationMs: r.session.maxDuration ? parseDuration(r.session.maxDuration) : null,
      idleTimeoutMs: r.session.idleTimeout ? parseDuration(r.session.idleTimeout) : null,
      detector: r.session.detector,
    },
    policyVersion: version,
  };
}

/** Names some allow rule could grant: anything else is refused before authentication. */
export function grantableSettings(policy: PolicySet): Set<string> {
  const names = new Set<string>();
  for (const { rule } of policy.rules)
    if (rule.effect === 'allow') for (const n of Object.keys(rule.params)) names.add(n);
  return names;
}

/**
 * Before authentication: refuses settings no rule could grant, so a client learns nothing
 * about itself and the gateway spends nothing on it. The full decision comes after.
 */
export function precheck(policy: PolicySet, settings: StartupSettings): Denial | null {
  const grantable = grantableSettings(policy);
  const refuse = (name: string): Denial =>
    denial(
      null,
      `startup parameter ${name} is granted by no rule`,
      SqlState.insufficientPrivilege,
      `startup parameter "${printable(name)}" is not allowed through pgward`,
      'Remove it from the connection string, or ask an administrator to allow it by policy.',
    );
  if (settings.replication !== null && !grantable.has('replication')) return refuse('replication');
  for (const name of settings.effective.keys()) {
    if (grantable.has(name)) continue;
    if (settings.duplicated.has(name) || !BASELINE_SETTINGS.has(name)) return refuse(name);
  }
  return null;
}
