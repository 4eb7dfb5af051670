import { withControlPlane } from './cli-context.js';
import { CliError, CliUsageError } from './cli-errors.js';
import { durationOption, tokenId } from './cli-input.js';
import { note, out, printJson } from './output.js';

// Other command files import it from here.
export { withControlPlane } from './cli-context.js';

export function tokenIssue(
  configPath: string | undefined,
  o: { user: string; groups: string; ttl?: string | undefined; json?: boolean | undefined },
): Promise<void> {
  if (o.ttl !== undefined) durationOption(o.ttl, '--ttl');
  return withControlPlane(configPath, async (cp) => {
    const groups = o.groups
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const issued = await cp.tokens.issue({ user: o.user, groups, ttl: o.ttl, issuedBy: 'cli' });
    if (o.json) {
      process.stdout.write(
        JSON.stringify({
          token: issued.token,
          jti: issued.jti,
          user: issued.user,
          groups,
          expiresAt: issued.expiresAt,
        }) + '\n',
      );
    } else {
      out(issued.token);
      note(`token ${issued.jti} for ${issued.user} expires ${issued.expiresAt.toISOString()}`);
    }
  });
}

export async function tokenRevoke(
  configPath: string | undefined,
  jti: string | undefined,
  opts: { user?: string | undefined; endSessions?: boolean | undefined },
): Promise<void> {
  if (jti !== undefined && opts.user)
    throw new CliUsageError('give a token id or --user, not both', { hint: 'see pgward token revoke --help' });
  if (jti === undefined && !opts.user)
    throw new CliUsageError('give a token id or --user NAME', {
      hint: 'pgward token revoke JTI (printed by token issue), or pgward token revoke --user NAME for all of them',
    });
  const id = jti === undefined ? undefined : tokenId(jti);
  const endSessions = opts.endSessions ?? false;
  await withControlPlane(configPath, async (cp) => {
    if (opts.user) {
      const n = await cp.tokens.revokeUser(opts.user, 'revoked with the CLI', { endSessions });
      note(`revoked ${n} token(s) of ${opts.user}${endSessions ? '; live sessions of the user are being ended' : ''}`);
    } else if (id) {
      const done = await cp.tokens.revoke(id, 'revoked with the CLI', { endSessions });
      if (!done)
        throw new CliError(`no live token ${id}`, {
          hint: 'it may have expired or been revoked already; check the id, or revoke with --user NAME',
        });
      note(`revoked ${id}${endSessions ? '; its live sessions are being ended' : ''}`);
    }
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function vaultSet(configPath: string | undefined, target: string, role: string): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    // Typed at a terminal, the password is not echoed; piped in, it is read to the end.
    const secret = process.stdin.isTTY
      ? await (await import('./hidden-input.js')).readHidden(`password for ${role} on ${target}: `)
      : await readStdin();
    if (!secret)
      throw new CliUsageError('empty secret on stdin', {
        hint: `pipe the password in: printf %s "$PASSWORD" | pgward vault set ${target} ${role}`,
      });
    await cp.vault.set(target, role, secret);
    note(`stored the credential of ${role} on ${target}`);
  });
}

export function vaultList(configPath: string | undefined, o: { json?: boolean | undefined } = {}): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    const entries = await cp.store.listVaultEntries();
    if (o.json) {
      printJson(entries.map((e) => ({ target: e.target, role: e.role, rotatedAt: e.rotatedAt.toISOString() })));
      return;
    }
    if (entries.length === 0) note('no vault entries (store one with: pgward vault set TARGET ROLE)');
    for (const e of entries) out(`${e.target}\t${e.role}\trotated ${e.rotatedAt.toISOString()}`);
  });
}
