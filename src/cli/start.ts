import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfigFile, parseConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { PolicyRuntime } from '../gateway/policy-runtime.js';
import { dryRun } from '../policy/dry-run.js';
import { policyContextOf } from '../policy/policy-context.js';
import { loadServerTls } from '../gateway/server-tls.js';
import { ensureDevCertificates } from '../tls/dev-ca.js';
import { createLogger, type Logger } from '../util/logger.js';
import { checkPorts, explainStartError, StartedParts } from './start-guard.js';
import { createGateway, openControlPlane } from './control-plane.js';
import { startEmbedded, type EmbeddedDefault } from './embedded.js';
import { acquireStartLock, removeState, writeState } from './state-file.js';
import { planConsole, startWebConsole, type WebConsole } from './web-console.js';

export const DEFAULT_HOME = '.pgward';
export const STATE_FILE = `${DEFAULT_HOME}/state.json`;
/** Held by the `pgward start` that runs this folder's embedded default (state-file.ts). */
export const LOCK_FILE = `${DEFAULT_HOME}/start.lock`;

export async function loadConfig(path: string | undefined): Promise<GatewayConfig> {
  if (path) return loadConfigFile(path);
  const fallback = 'pgward.yaml';
  try {
    await access(fallback);
    return await loadConfigFile(fallback);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseConfig({});
    throw err;
  }
}

const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

/** `pgward start`: the gateway, and with no store configured the whole embedded default. */
export async function start(opts: { config?: string | undefined; port?: number | undefined }): Promise<void> {
  const config = await loadConfig(opts.config);
  if (opts.port !== undefined) config.listen.port = opts.port;
  const log = createLogger(config.log.level);
  const storeUrl = config.store.url ?? process.env['PGWARD_STORE_URL'];
  const started = new StartedParts(log);
  const lock = storeUrl ? null : await acquireStartLock(LOCK_FILE);
  process.on('SIGINT', started.onSignal);
  process.on('SIGTERM', started.onSignal);
  try {
    if (lock) started.add('start lock', () => lock.release());
    return await startAll(config, opts, log, storeUrl, lock, started);
  } catch (err) {
    await started.stopAll();
    throw await explainStartError(err, config, opts);
  } finally {
    process.off('SIGINT', started.onSignal);
    process.off('SIGTERM', started.onSignal);
  }
}

async function startAll(
  config: GatewayConfig,
  opts: { config?: string | undefined; port?: number | undefined },
  log: Logger,
  storeUrl: string | undefined,
  lock: Awaited<ReturnType<typeof acquireStartLock>> | null,
  started: StartedParts,
): Promise<void> {
  await checkPorts(config, opts);
  let embedded: EmbeddedDefault | null = null;
  if (!storeUrl) {
    embedded = await startEmbedded(DEFAULT_HOME, config.tls.certDir, (l) => log.info(l));
    const cluster = embedded.cluster;
    started.add('embedded PostgreSQL', () => cluster.stop());
    await lock?.update({ postgresPort: cluster.port });
    withEmbedded(config, embedded);
  }
  const cp = await openControlPlane(config, {
    storeUrl: storeUrl ?? embedded!.storeUrl,
    createVaultKey: embedded !== null,
  });
  started.add('control plane', () => cp.close());
  if (embedded) {
    await cp.vault.set(embedded.demo.target, embedded.demo.role, embedded.demo.password);
    await cp.vault.set(embedded.demo.target, embedded.demo.readRole, embedded.demo.readPassword);
    await cp.vault.set(embedded.demo.target, embedded.demo.provisioner, embedded.demo.provisionerPassword);
  }
  const policyDir = config.policies.dir ?? (embedded ? 'policies' : undefined);
  const policy = await PolicyRuntime.start({
    store: cp.store,
    log,
    dir: policyDir ? resolve(policyDir) : null,
    watch: config.policies.watch,
    // File edits are checked against this gateway's targets and known groups too.
    context: policyContextOf(config),
  });
  started.add('policy runtime', () => policy.close());

  let certPath = config.tls.certFile;
  let keyPath = config.tls.keyFile;
  let caPath: string | null = null;
  if (!certPath || !keyPath) {
    const dev = embedded?.certs ?? (await ensureDevCertificates(resolve(config.tls.certDir)));
    certPath = dev.certPath;
    keyPath = dev.keyPath;
    caPath = dev.caCertPath;
  }
  const tls = await loadServerTls({ certPath, keyPath, caPath, minVersion: config.tls.minVersion });
  const plan = config.web.enabled ? await planConsole(config) : null;
  const gateway = await createGateway(cp, { config, log, tls, policy, consoleUrl: plan?.publicUrl });
  started.add('gateway', () => gateway.close(0));
  const addr = await gateway.listen();
  await lock?.update({ gateway: `${addr.host}:${addr.port}` });
  const pgHost = config.web.pgHost ?? (addr.host === '127.0.0.1' || addr.host === '::1' ? 'localhost' : addr.host);
  let web: WebConsole | null = null;
  if (plan) {
    web = await startWebConsole({
      plan,
      config,
      cp,
      log,
      pg: { host: pgHost, port: config.web.pgPort ?? addr.port, caPath },
      devIdp: embedded !== null,
      policy,
      gateway,
    });
    const consoleServer = web;
    started.add('console', () => consoleServer.close());
    await lock?.update({ console: web.url });
  }

  if (embedded) {
    await writeState(STATE_FILE, {
      storeUrl: embedded.storeUrl,
      storeCaFile: embedded.certs.caCertPath,
      vaultKeyFile: embedded.vaultKeyFile,
      pid: process.pid,
      gateway: `${addr.host}:${addr.port}`,
      console: web?.url ?? null,
    });
    started.add('state file', () => removeState(STATE_FILE));
    const issued = await cp.tokens.issue({
      user: 'alice',
      groups: ['developers'],
      ttl: '8h',
      issuedBy: 'pgward start',
    });
    say('');
    say(`pgward is listening on ${addr.host}:${addr.port} (TLS; SCRAM-SHA-256 with channel binding)`);
    say(
      `  upstream: embedded PostgreSQL ${embedded.cluster.binaries.version} on 127.0.0.1:${embedded.cluster.port}, database "demo"; each person logs in as their own login per grant (such as "alice:<role>"), made on first use, password in the vault`,
    );
    // What the printed token gets, from the policy in force (not the target's default role).
    const t = config.targets[embedded.demo.target]!;
    const d = dryRun(
      policy.current(),
      [{ name: embedded.demo.target, database: t.database, databases: t.databases, role: t.role }],
      { user: 'alice', groups: ['developers'], database: 'demo' },
    );
    const as =
      d.kind === 'grant'
        ? `as role ${d.role}${d.session.readOnly ? ', read-only' : ''} (rule ${d.rule})`
        : `but the policy denies it: ${d.reason}`;
    say(`  a token for the demo user alice (groups: developers), valid 8 hours; it connects to "demo" ${as}:`);
    say('');
    say(
      `PGPASSWORD='${issued.token}' psql "host=${addr.host} port=${addr.port} dbname=demo user=alice sslmode=verify-full sslrootcert=${caPath ?? ''}"`,
    );
    say('');
    if (web) {
      say('');
      say(`  console: ${web.url}  (sign in, then copy a ready psql line)`);
      if (web.devIdp) {
        say(`  development identity provider ${web.devIdp.issuer}, demo users:`);
        for (const u of web.devIdp.users)
          say(`    ${u.username.padEnd(6)} password ${u.password}   (${u.groups.join(', ')})`);
      }
      say(`  or, as a user with no token yet, ask for a sign-in link and open the one psql prints:`);
      say(
        `    PGOPTIONS='-c pgward.login=link' psql "host=${pgHost} port=${addr.port} dbname=demo user=bob sslmode=verify-full sslrootcert=${caPath ?? ''}"`,
      );
    }
    say(`  more tokens: npx pgward token issue --user NAME [--groups a,b] [--ttl 8h]`);
    say('  Ctrl-C stops the gateway and the embedded PostgreSQL.');
  }

  started.check();
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdown', signal }, 'shutting down');
    await gateway.close(config.limits.shutdownGraceMs);
    await web?.close();
    await policy.close();
    await cp.close();
    if (embedded) {
      await embedded.cluster.stop();
      await removeState(STATE_FILE);
    }
    await lock?.release();
    log.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // SIGHUP: re-read the certificate and key (renewed by cert-manager, certbot, ...) and the
  // configuration file. Policies reload on their own when their files change.
  process.on('SIGHUP', () => {
    loadServerTls({ certPath: certPath!, keyPath: keyPath!, caPath, minVersion: config.tls.minVersion })
      .then((t) => gateway.reloadTls(t))
      .catch((err: unknown) =>
        log.error(
          { event: 'tls_reload_failed', err: (err as Error).message },
          'certificate reload failed; the old one stays',
        ),
      );
    loadConfig(opts.config)
      .then((next) => {
        if (opts.port !== undefined) next.listen.port = opts.port;
        if (embedded) withEmbedded(next, embedded);
        // What the first start filled in stays as it was.
        next.vault.keyFile ??= config.vault.keyFile;
        next.store.caFile ??= config.store.caFile;
        return gateway.reloadConfig(next);
      })
      .catch((err: unknown) =>
        log.error(
          { event: 'config_reload_failed', err: (err as Error).message },
          'configuration not reloaded; the running one stays',
        ),
      );
  });
}

/** The embedded default's pieces, where the configuration leaves them open. */
function withEmbedded(config: GatewayConfig, embedded: EmbeddedDefault): void {
  config.vault.keyFile ??= embedded.vaultKeyFile;
  config.store.caFile ??= embedded.certs.caCertPath;
  config.targets[embedded.demo.target] ??= {
    host: embedded.cluster.host,
    port: embedded.cluster.port,
    database: embedded.demo.database,
    role: embedded.demo.role,
    tls: { mode: 'verify-full', negotiation: 'postgres', caFile: embedded.certs.caCertPath },
    auth: ['scram-sha-256'],
    connectTimeoutMs: 10_000,
    protocol: '3.2',
    databases: [],
    pool: {
      enabled: true,
      min: 2,
      idleMs: 300_000,
      maxPools: 16,
      reset: 'DISCARD ALL',
      assign: 'first-message',
      max: 500,
      waitTimeoutMs: 10_000,
    },
    // On here (off by default for configured targets): the embedded cluster is pgward's own,
    // so it can give itself a provisioner (docs/person-roles.md).
    personRoles: { enabled: true, provisioner: embedded.demo.provisioner },
  };
  // The development IdP's people are in these groups: a policy naming another gets a warning.
  config.policies.knownGroups ??= ['developers', 'admins', 'auditors'];
}
