import type { Command } from 'commander';
import { AccessRequests, describe } from '../access/access-requests.js';
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
import { withControlPlane } from './admin-commands.js';
import type { ControlPlane } from './control-plane.js';
import { loadConfig } from './start.js';

/**
 * `pgward request ...` (docs/access-requests.md). The CLI acts as an operator with direct
 * store access, as `pgward token issue` does: the person is named with --as (and --groups),
 * and every check (who may ask, who may approve, how many, self-approval) is the policy's.
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
function withRequests<T>(configPath: string | undefined, fn: (r: AccessRequests) => Promise<T>): Promise<T> {
  return withControlPlane(configPath, async (cp) => {
    const log = createLogger(process.env['PGWARD_LOG_LEVEL'] ?? 'warn', process.stderr);
    const policy = await storedPolicy(cp);
    const audit = new AuditWriter(new AuditQueries(cp.store), log, {
      keys: deriveAuditKeys(cp.vault.derive(AUDIT_KEY_LABEL)),
    });
    const alerts = new AlertSender(log);
    try {
      return await fn(new AccessRequests({ store: cp.store, audit, alerts, policy: () => policy, log, actor: 'cli' }));
    } finally {
      await audit.close();
      await alerts.drain();
    }
  });
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
  as: string;
  groups?: string;
  reason?: string;
  json?: boolean;
}

export function registerRequestCommands(program: Command, cfg: () => string | undefined): void {
  const request = program.command('request').description('just-in-time access requests');
  request
    .command('create')
    .description('ask for a requestable grant; prints the request id')
    .requiredOption('--as <user>', 'the person asking')
    .option('--groups <list>', 'their groups, comma-separated')
    .requiredOption('--target <name>', 'target')
    .option('--database <name>', "database (default: the target's own)")
    .option('--role <name>', 'the upstream role asked for')
    .option('--rule <name>', 'the requestable rule asked for')
    .option('--duration <d>', "how long, such as 30m (default and cap: the rule's maxDuration)")
    .option('--reason <text>', 'why (a rule may require it, and a pattern such as a ticket id)')
    .option('--json', 'print the request as JSON')
    .action(async (o: Who & { target: string; database?: string; role?: string; rule?: string; duration?: string }) => {
      const config = await loadConfig(cfg());
      const t = config.targets[o.target];
      if (!t) throw new RequestRefused(`no target ${o.target} in the configuration`);
      await withRequests(cfg(), async (r) => {
        const row = await r.create({
          user: o.as,
          groups: groupList(o.groups),
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
    .option('--state <list>', 'pending, approved, denied, cancelled, expired, revoked (comma-separated)')
    .option('--json', 'one JSON object per line')
    .action(async (o: { as?: string; state?: string; json?: boolean }) => {
      await withRequests(cfg(), async (r) => {
        const states = o.state ? (groupList(o.state) as AccessRequestState[]) : undefined;
        const rows = await r.queries.list({ ...(o.as ? { requester: o.as } : {}), ...(states ? { states } : {}) });
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
    .requiredOption('--as <user>', 'the requester')
    .action(async (id: string, o: Who) => {
      await withRequests(cfg(), async (r) => print(await r.cancel(id, o.as), false));
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
      .requiredOption('--as <user>', 'the approver')
      .requiredOption('--groups <list>', "the approver's groups, comma-separated")
      .option('--reason <text>', 'why')
      .option('--json', 'print the request as JSON')
      .action(async (id: string, o: Who) => {
        await withRequests(cfg(), async (r) => {
          const who = { user: o.as, groups: groupList(o.groups) };
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
