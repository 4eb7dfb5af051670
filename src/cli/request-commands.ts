import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import { AccessRequests, describe, type Person } from '../access/access-requests.js';
import { AuditWriter } from '../audit/writer.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../audit/keys.js';
import { AlertSender } from '../detect/alerts.js';
import { formatProblem, parsePolicyDocuments } from '../policy/loader.js';
import { RequestRefused } from '../policy/requestable.js';
import type { PolicySet } from '../policy/schema.js';
import type { AccessRequestRow, AccessRequestState } from '../store/access-request-queries.js';
import { AuditQueries } from '../store/audit-queries.js';
import { PolicyQueries } from '../store/policy-queries.js';
import { createLogger } from '../util/logger.js';
import { parsePgpassLine, pgpassPath } from '../util/pgpass.js';
import { withControlPlane } from './admin-commands.js';
import type { ControlPlane } from './control-plane.js';
import { loginsPath } from './login.js';
import { loadCliConfig } from './cli-context.js';

/**
 * `pgward request ...` (docs/access-requests.md). The person acting is the one signed in with
 * `pgward login` (their token, checked against the store: user and groups as the identity
 * provider gave them); an operator with the store's credentials may instead name someone with
 * --as (and --groups), which every event of the step records as an operator override. Every
 * check (who may ask, who may approve, how many, self-approval) is the policy's.
 */

const out = (line: string): void => {
  process.stdout.write(line + '\n');
};

const groupList = (g: string | undefined): string[] =>
  (g ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

async function storedPolicy(cp: ControlPlane): Promise<PolicySet> {
  const v = await new PolicyQueries(cp.store).latest();
  if (!v) throw new RequestRefused('no policy version is stored yet');
  const loaded = parsePolicyDocuments(v.documents, v.id);
  if (!loaded.ok) throw new RequestRefused(loaded.problems.map(formatProblem).join('\n'));
  return loaded.set;
}

/** Runs fn with the request service over the store; audit events and webhooks are flushed before it returns. */
function withRequests<T>(
  configPath: string | undefined,
  fn: (r: AccessRequests, cp: ControlPlane) => Promise<T>,
): Promise<T> {
  return withControlPlane(configPath, async (cp) => {
    const log = createLogger(process.env['PGWARD_LOG_LEVEL'] ?? 'warn', process.stderr);
    const policy = await storedPolicy(cp);
    const audit = new AuditWriter(new AuditQueries(cp.store), log, {
      keys: deriveAuditKeys(cp.vault.derive(AUDIT_KEY_LABEL)),
    });
    const alerts = new AlertSender(log);
    try {
      return await fn(
        new AccessRequests({ store: cp.store, audit, alerts, policy: () => policy, log, actor: 'cli' }),
        cp,
      );
    } finally {
      await audit.close();
      await alerts.drain();
    }
  });
}

/** What `pgward login` leaves (cli/login.ts): gateway origin -> the ~/.pgpass slot of its token. */
const loginRecords = z.record(
  z.string(),
  z.object({ host: z.string(), port: z.string(), user: z.string(), expiresAt: z.string() }),
);

/** The person signed in with `pgward login` (on `gateway`, or the only gateway signed in to), their token verified. */
async function signedInPerson(cp: ControlPlane, gateway: string | undefined): Promise<Person> {
  let records: z.infer<typeof loginRecords>;
  try {
    records = loginRecords.parse(JSON.parse(await readFile(loginsPath(), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new RequestRefused(`cannot read ${loginsPath()}: ${(err as Error).message}`);
    records = {};
  }
  const origin = gateway ? new URL(gateway).origin : undefined;
  const found = Object.entries(records).filter(([g]) => origin === undefined || g === origin);
  if (found.length === 0)
    throw new RequestRefused(
      `not signed in${origin ? ` to ${origin}` : ''}: run pgward login --gateway URL (an operator may name the person with --as)`,
    );
  if (found.length > 1)
    throw new RequestRefused(
      `signed in to several gateways (${found.map(([g]) => g).join(', ')}): choose one with --gateway`,
    );
  const [where, rec] = found[0]!;
  if (Date.parse(rec.expiresAt) <= Date.now())
    throw new RequestRefused(`your sign-in to ${where} expired at ${rec.expiresAt}: run pgward login again`);
  let token: string | undefined;
  try {
    token = (await readFile(pgpassPath(), 'utf8'))
      .split('\n')
      .map(parsePgpassLine)
      .find(
        (e) => e && e.host === rec.host && e.port === rec.port && e.user === rec.user && e.database === '*',
      )?.password;
  } catch {
    token = undefined;
  }
  if (!token)
    throw new RequestRefused(`no token of ${rec.user} for ${where} in ${pgpassPath()}: run pgward login again`);
  try {
    // The token proves who this is: signed by pgward, not revoked, for this user; its groups are the identity provider's.
    const id = await cp.tokens.verifyPassword(rec.user, token);
    return { user: id.user, groups: id.groups, via: { kind: 'cli-login' } };
  } catch (err) {
    throw new RequestRefused(
      `the token of your sign-in to ${where} is not valid (${(err as Error).message}): run pgward login again`,
    );
  }
}

/** Who acts: --as (an operator override, recorded as such) or the `pgward login` sign-in. */
async function acting(cp: ControlPlane, o: Who): Promise<Person> {
  if (o.as === undefined) {
    if (o.groups !== undefined)
      throw new RequestRefused('--groups goes with --as: a signed-in person has the groups of their sign-in');
    return signedInPerson(cp, o.gateway);
  }
  const operator = userInfo().username;
  process.stderr.write(`acting as ${o.as} by operator override (--as), recorded with operator ${operator}\n`);
  return { user: o.as, groups: groupList(o.groups), via: { kind: 'operator', operator } };
}

function print(r: AccessRequestRow, json: boolean | undefined): void {
  if (json) {
    out(JSON.stringify(describe(r)));
    return;
  }
  out(`${r.id}  ${r.state}  ${r.requester} -> ${r.role} on ${r.target}/${r.database} (rule ${r.rule})`);
  out(`  asked ${r.createdAt.toISOString()} for ${r.durationMs / 1000}s; reason: ${r.reason ?? '-'}`);
  out(`  approvals ${r.approvals.length}/${r.needed}`);
  for (const a of r.approvals)
    out(`    ${a.at} ${a.by}${a.breakGlass ? ' (BREAK-GLASS)' : ''}${a.reason ? `: ${a.reason}` : ''}`);
  if (r.decidedAt)
    out(
      `  decided ${r.decidedAt.toISOString()}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.decisionReason ? `: ${r.decisionReason}` : ''}`,
    );
  if (r.expiresAt) out(`  expires ${r.expiresAt.toISOString()}`);
}

interface Who {
  as?: string;
  groups?: string;
  gateway?: string;
  reason?: string;
  json?: boolean;
}

export function registerRequestCommands(program: Command, cfg: () => string | undefined): void {
  const request = program.command('request').description('just-in-time access requests');
  request
    .command('create')
    .description('ask for a requestable grant; prints the request id')
    .option('--gateway <url>', 'act as the person signed in to this gateway with pgward login (default: the only one)')
    .option('--as <user>', 'operator override: the person asking (recorded as an override)')
    .option('--groups <list>', 'with --as: their groups, comma-separated')
    .requiredOption('--target <name>', 'target')
    .option('--database <name>', "database (default: the target's own)")
    .option('--role <name>', 'the upstream role asked for')
    .option('--rule <name>', 'the requestable rule asked for')
    .option('--duration <d>', "how long, such as 30m (default and cap: the rule's maxDuration)")
    .option('--reason <text>', 'why (a rule may require it, and a pattern such as a ticket id)')
    .option('--json', 'print the request as JSON')
    .action(async (o: Who & { target: string; database?: string; role?: string; rule?: string; duration?: string }) => {
      const config = await loadCliConfig(cfg());
      const t = config.targets[o.target];
      if (!t) throw new RequestRefused(`no target ${o.target} in the configuration`);
      await withRequests(cfg(), async (r, cp) => {
        const who = await acting(cp, o);
        const row = await r.create({
          ...who,
          target: o.target,
          database: o.database ?? t.database,
          targetDatabase: t.database,
          targetRole: t.role,
          role: o.role,
          rule: o.rule,
          duration: o.duration,
          reason: o.reason,
        });
        if (o.json) print(row, true);
        else {
          out(row.id);
          process.stderr.write(
            `asked for ${row.role} on ${row.target}/${row.database}: ${row.needed} approval(s) needed\n`,
          );
        }
      });
    });
  request
    .command('list')
    .description('requests, newest first')
    .option('--as <user>', "only this person's requests")
    .option('--mine', 'only the requests of the person signed in with pgward login')
    .option('--gateway <url>', 'with --mine: which sign-in')
    .option('--state <list>', 'pending, approved, denied, cancelled, expired, revoked (comma-separated)')
    .option('--json', 'one JSON object per line')
    .action(async (o: { as?: string; mine?: boolean; gateway?: string; state?: string; json?: boolean }) => {
      await withRequests(cfg(), async (r, cp) => {
        const states = o.state ? (groupList(o.state) as AccessRequestState[]) : undefined;
        const requester = o.mine ? (await signedInPerson(cp, o.gateway)).user : o.as;
        const rows = await r.queries.list({ ...(requester ? { requester } : {}), ...(states ? { states } : {}) });
        if (!o.json && rows.length === 0) out('no access requests');
        for (const row of rows)
          if (o.json) print(row, true);
          else
            out(
              `${row.id}  ${row.state.padEnd(9)}  ${row.requester} -> ${row.role} on ${row.target}/${row.database}  ${row.approvals.length}/${row.needed}`,
            );
      });
    });
  request
    .command('show')
    .argument('<id>')
    .option('--json', 'as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      await withRequests(cfg(), async (r) => {
        const row = await r.queries.get(id);
        if (!row) throw new RequestRefused(`no access request ${id}`);
        print(row, o.json);
      });
    });
  request
    .command('cancel')
    .argument('<id>')
    .option('--gateway <url>', 'act as the person signed in to this gateway with pgward login')
    .option('--as <user>', 'operator override: the requester (recorded as an override)')
    .action(async (id: string, o: Who) => {
      await withRequests(cfg(), async (r, cp) => {
        const who = await acting(cp, { ...o, groups: undefined });
        print(await r.cancel(id, who.user, who.via), false);
      });
    });
  for (const verb of ['approve', 'deny', 'revoke'] as const) {
    request
      .command(verb)
      .description(
        verb === 'revoke'
          ? 'end an approved grant now (its sessions end)'
          : `${verb} a pending request, as an approver`,
      )
      .argument('<id>')
      .option('--gateway <url>', 'act as the approver signed in to this gateway with pgward login')
      .option('--as <user>', 'operator override: the approver (recorded as an override)')
      .option('--groups <list>', "with --as: the approver's groups, comma-separated")
      .option('--reason <text>', 'why')
      .option('--json', 'print the request as JSON')
      .action(async (id: string, o: Who) => {
        await withRequests(cfg(), async (r, cp) => {
          const who = await acting(cp, o);
          const row =
            verb === 'approve'
              ? await r.approve(id, who, o.reason)
              : verb === 'deny'
                ? await r.deny(id, who, o.reason)
                : await r.revoke(id, who, o.reason);
          print(row, o.json);
        });
      });
  }
}
