import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config/schema.js';
import type { UpstreamConnection, UpstreamEndpoint } from '../upstream/connector.js';
import { dropPersonRole, listPersonRoles } from '../upstream/person-role-admin.js';
import { asProvisioner, PersonRoleError } from '../upstream/person-roles.js';
import { personVaultKey } from '../vault/person-credential.js';
import { loadCliConfig, STATE_FILE, withControlPlane } from './cli-context.js';
import { CliError } from './cli-errors.js';
import type { ControlPlane } from './control-plane.js';
import { note, out, printJson } from './output.js';
import { readState } from './state-file.js';

/** Where a target's provisioner connects: the configured target, or the running embedded default's demo. */
async function provisionerOf(
  config: GatewayConfig,
  target: string,
): Promise<{ endpoint: UpstreamEndpoint; database: string; provisioner: string }> {
  const t = config.targets[target];
  if (t) {
    if (!t.personRoles.enabled)
      throw new CliError(`target ${target} does not have personRoles enabled`, {
        hint: `per-person logins are made only where targets.${target}.personRoles.enabled is true (docs/person-roles.md)`,
      });
    return {
      endpoint: {
        host: t.host,
        port: t.port,
        tlsMode: t.tls.mode,
        tlsNegotiation: t.tls.negotiation,
        ca: t.tls.caFile ? await readFile(t.tls.caFile, 'utf8') : undefined,
        serverName: t.tls.serverName,
        allowedAuth: t.auth,
        connectTimeoutMs: t.connectTimeoutMs,
      },
      database: t.database,
      provisioner: t.personRoles.provisioner,
    };
  }
  // The embedded default keeps its demo upstream in the cluster of its store.
  const state = target === 'demo' && !config.store.url ? await readState(STATE_FILE) : null;
  if (!state) {
    const embeddedHere = !config.store.url && (await readState(STATE_FILE)) !== null;
    const known = [...Object.keys(config.targets), ...(embeddedHere ? ['demo (the embedded default)'] : [])];
    throw new CliError(`no target ${target} in the configuration`, {
      hint: known.length
        ? `the targets are: ${known.join(', ')}`
        : 'no targets are configured (targets: in pgward.yaml) and no embedded pgward runs in this folder',
    });
  }
  const url = new URL(state.storeUrl);
  return {
    endpoint: {
      host: url.hostname,
      port: Number(url.port),
      tlsMode: 'verify-full',
      ca: await readFile(state.storeCaFile, 'utf8'),
      allowedAuth: ['scram-sha-256'],
      connectTimeoutMs: 10_000,
    },
    database: 'demo',
    provisioner: 'pgward_provisioner',
  };
}

async function withProvisioner<T>(
  configPath: string | undefined,
  target: string,
  work: (cp: ControlPlane, up: UpstreamConnection) => Promise<T>,
): Promise<T> {
  const config = await loadCliConfig(configPath);
  const { endpoint, database, provisioner } = await provisionerOf(config, target);
  return withControlPlane(configPath, async (cp) => {
    const password = await cp.vault.get(target, provisioner);
    if (password === null)
      throw new CliError(`the vault has no credential for ${provisioner} on ${target}`, {
        hint: `store it with: pgward vault set ${target} ${provisioner} (the password on stdin)`,
      });
    return asProvisioner(endpoint, { user: provisioner, password, database }, (up) => work(cp, up));
  });
}

/** `pgward person-roles list TARGET`: every login pgward made there, whose it is, and whether it is in use. */
export function personRolesList(
  configPath: string | undefined,
  target: string,
  o: { json?: boolean | undefined } = {},
): Promise<void> {
  return withProvisioner(configPath, target, async (cp, up) => {
    const vaulted = new Set((await cp.store.listVaultEntries()).filter((e) => e.target === target).map((e) => e.role));
    const logins = (await listPersonRoles(up)).map((l) => ({
      login: l.login,
      person: l.person,
      role: l.role,
      member: l.member,
      backends: l.backends,
      inVault: vaulted.has(personVaultKey(l.login)),
    }));
    if (o.json) {
      printJson(logins);
      return;
    }
    out('login\tperson\tgranted role\tmember\tbackends\tin vault');
    for (const l of logins)
      out(`${l.login}\t${l.person}\t${l.role}\t${l.member ? 'yes' : 'no'}\t${l.backends}\t${l.inVault ? 'yes' : 'no'}`);
  });
}

/**
 * `pgward person-roles drop TARGET LOGIN`: drops a login pgward made (a person who left, a
 * grant removed) and its vault entry. Harmless to skip: the gateway only ever logs in as the
 * login of a grant the policy gives now; should the person get that grant again, the login
 * is made again.
 */
export function personRolesDrop(configPath: string | undefined, target: string, login: string): Promise<void> {
  return withProvisioner(configPath, target, async (cp, up) => {
    await dropPersonRole(up, login).catch((err: unknown) => {
      if (err instanceof PersonRoleError && err.code === '2BP01')
        throw new CliError(
          `${err.message}; it owns objects: in each database, as their owner's admin or a superuser, run REASSIGN OWNED BY "${login}" TO <role> and DROP OWNED BY "${login}", then drop it again`,
        );
      throw err;
    });
    await cp.vault.delete(target, personVaultKey(login));
    note(`dropped ${login} on ${target} and its vault entry`);
  });
}
