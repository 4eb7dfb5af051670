import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { ApiTokenQueries, type ApiTokenScope } from '../store/api-token-queries.js';
import { AuditQueries } from '../store/audit-queries.js';
import { ApiTokenError, createApiToken } from '../web/api-tokens.js';
import { withControlPlane } from './cli-context.js';
import { CliError, CliUsageError } from './cli-errors.js';
import { note, out, printJson } from './output.js';

const SCOPES: readonly ApiTokenScope[] = ['admin', 'auditor'];

function scopesOf(value: string): ApiTokenScope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = scopes.filter((s) => !SCOPES.includes(s as ApiTokenScope));
  if (wrong.length || scopes.length === 0)
    throw new CliUsageError(`--scope: ${wrong.length ? `unknown scope ${wrong.join(', ')}` : 'give at least one'}`, {
      hint: 'scopes are admin and auditor, comma separated (--scope auditor)',
    });
  return scopes as ApiTokenScope[];
}

/** Who made or revoked a token from this machine's CLI (an operator with the store and vault key). */
const operator = (): string => `${userInfo().username} (cli)`;

/**
 * `pgward api-token create|list|revoke`: the operator's side of API tokens (docs/api-tokens.md).
 * An operator holds the store and the vault key, so may give any scope; people make theirs in
 * the console with the scopes they hold.
 */
export function registerApiTokenCommands(program: Command, cfg: () => string | undefined): void {
  const cmd = program
    .command('api-token')
    .description('tokens for the console API (automation, remote admins): scoped, revocable, audited');
  cmd
    .command('create')
    .description('make an API token; it is printed once, on stdout')
    .argument('<name>', 'a name people will recognise in the audit (letters, digits, . _ -)')
    .requiredOption('--scope <scopes>', 'admin, auditor, or both comma separated')
    .option('--ttl <duration>', 'lifetime, at most 365d', '90d')
    .option('--json', 'print the token and its details as JSON')
    .action(async (name: string, o: { scope: string; ttl: string; json?: boolean }) => {
      const scopes = scopesOf(o.scope);
      await withControlPlane(cfg(), async (cp) => {
        const by = operator();
        try {
          const made = await createApiToken(new ApiTokenQueries(cp.store), { name, scopes, ttl: o.ttl, createdBy: by });
          await new AuditQueries(cp.store).recordAdminEvent(by, 'api-token.create', {
            id: made.id,
            name,
            scopes,
            expiresAt: made.expiresAt,
          });
          if (o.json) printJson({ name, scopes, id: made.id, expiresAt: made.expiresAt, token: made.token });
          else {
            out(made.token);
            note(
              `API token ${name} (${scopes.join(', ')}) expires ${made.expiresAt.toISOString()}; it is not shown again`,
            );
          }
        } catch (err) {
          if (err instanceof ApiTokenError) throw new CliError(err.message);
          throw err;
        }
      });
    });
  cmd
    .command('list')
    .description('API tokens: names, scopes, expiry, last use (never a value)')
    .option('--json', 'print them as a JSON array')
    .action(async (o: { json?: boolean }) => {
      await withControlPlane(cfg(), async (cp) => {
        const rows = await new ApiTokenQueries(cp.store).list();
        if (o.json) return printJson(rows);
        if (rows.length === 0) return note('no API tokens; make one with pgward api-token create NAME --scope auditor');
        for (const t of rows) {
          const state = t.revokedAt
            ? `revoked ${t.revokedAt.toISOString()} by ${t.revokedBy ?? '?'}`
            : t.expiresAt.getTime() <= Date.now()
              ? `expired ${t.expiresAt.toISOString()}`
              : `expires ${t.expiresAt.toISOString()}`;
          const used = t.lastUsedAt
            ? `last used ${t.lastUsedAt.toISOString()} from ${t.lastUsedFrom ?? '?'}`
            : 'never used';
          out(`${t.name}\t${t.scopes.join(',')}\t${state}\t${used}\tmade by ${t.createdBy}`);
        }
      });
    });
  cmd
    .command('revoke')
    .description('revoke an API token by name or id; its next call gets 401')
    .argument('<name-or-id>')
    .action(async (ref: string) => {
      await withControlPlane(cfg(), async (cp) => {
        const by = operator();
        const row = await new ApiTokenQueries(cp.store).revoke(ref, by);
        if (!row) throw new CliError(`no API token "${ref}"`, { hint: 'pgward api-token list shows the names' });
        await new AuditQueries(cp.store).recordAdminEvent(by, 'api-token.revoke', { id: row.id, name: row.name });
        note(`revoked API token ${row.name}`);
      });
    });
}
