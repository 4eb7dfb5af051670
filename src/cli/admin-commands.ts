import type { GatewayConfig } from '../config/schema.js';
import { openControlPlane, type ControlPlane } from './control-plane.js';
import { loadConfig, STATE_FILE } from './start.js';
import { readState } from './state-file.js';

/** The store of a configured deployment, or of the running embedded default. */
async function controlPlane(configPath: string | undefined): Promise<ControlPlane> {
  const config: GatewayConfig = await loadConfig(configPath);
  let storeUrl = config.store.url ?? process.env['PGWARD_STORE_URL'];
  if (!storeUrl) {
    const state = await readState(STATE_FILE);
    if (!state) throw new Error('no store configured and no embedded pgward running here (start one with: npm start)');
    storeUrl = state.storeUrl;
    config.store.caFile ??= state.storeCaFile;
    config.vault.keyFile ??= state.vaultKeyFile;
  }
  return openControlPlane(config, { storeUrl });
}

export async function withControlPlane<T>(
  configPath: string | undefined,
  fn: (cp: ControlPlane) => Promise<T>,
): Promise<T> {
  const cp = await controlPlane(configPath);
  try {
    return await fn(cp);
  } finally {
    await cp.close();
  }
}

export function tokenIssue(
  configPath: string | undefined,
  o: { user: string; groups: string; ttl?: string | undefined; json?: boolean | undefined },
): Promise<void> {
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
      process.stdout.write(issued.token + '\n');
      process.stderr.write(`token ${issued.jti} for ${issued.user} expires ${issued.expiresAt.toISOString()}\n`);
    }
  });
}

export function tokenRevoke(
  configPath: string | undefined,
  jti: string | undefined,
  opts: { user?: string | undefined; endSessions?: boolean | undefined },
): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    const endSessions = opts.endSessions ?? false;
    const ending = endSessions ? '; its live sessions are being ended' : '';
    if (opts.user) {
      const n = await cp.tokens.revokeUser(opts.user, 'revoked with the CLI', { endSessions });
      process.stderr.write(
        `revoked ${n} token(s) of ${opts.user}${endSessions ? '; live sessions of the user are being ended' : ''}\n`,
      );
    } else if (jti) {
      const done = await cp.tokens.revoke(jti, 'revoked with the CLI', { endSessions });
      if (!done) throw new Error(`no live token ${jti}`);
      process.stderr.write(`revoked ${jti}${ending}\n`);
    } else {
      throw new Error('give a token id or --user');
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
    if (process.stdin.isTTY) process.stderr.write(`password for ${role} on ${target} (then Ctrl-D): `);
    const secret = await readStdin();
    if (!secret) throw new Error('empty secret on stdin');
    await cp.vault.set(target, role, secret);
    process.stderr.write(`stored the credential of ${role} on ${target}\n`);
  });
}

export function vaultList(configPath: string | undefined): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    for (const e of await cp.store.listVaultEntries()) {
      process.stdout.write(`${e.target}\t${e.role}\trotated ${e.rotatedAt.toISOString()}\n`);
    }
  });
}
