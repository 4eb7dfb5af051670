import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PolicySource } from '../gateway/policy-runtime.js';
import type { ServerTls } from '../gateway/server-tls.js';
import { SigningKeys } from '../identity/signing-keys.js';
import type { Logger } from '../util/logger.js';
import { TokenService } from '../identity/token-service.js';
import { IdentityQueries } from '../store/identity-queries.js';
import { Store } from '../store/store.js';
import { loadVaultKey } from '../vault/key-source.js';
import { Vault } from '../vault/vault.js';

export interface ControlPlane {
  store: Store;
  vault: Vault;
  keys: SigningKeys;
  tokens: TokenService;
  identity: IdentityQueries;
  close(): Promise<void>;
}

/** Opens the store (migrating it), the vault and the token service for a config. */
export async function openControlPlane(
  config: GatewayConfig,
  opts: { storeUrl: string; createVaultKey?: boolean },
): Promise<ControlPlane> {
  const kek = await loadVaultKey({
    env: config.vault.keyEnv,
    file: config.vault.keyFile,
    createIfMissing: opts.createVaultKey ?? false,
  });
  const ca = config.store.caFile ? await readFile(config.store.caFile, 'utf8') : undefined;
  const store = await Store.open({ connectionString: opts.storeUrl, ca });
  try {
    const vault = new Vault(store, kek);
    const keys = new SigningKeys(store, vault);
    await keys.load();
    const tokens = new TokenService(store, keys, config.auth);
    return { store, vault, keys, tokens, identity: new IdentityQueries(store), close: () => store.close() };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * A gateway over this control plane; with a console URL, clients with no token get sign-in
 * links to it. The gateway module is loaded here, not at the top, so CLI commands that only
 * need the store (token issue, policy versions) do not load the proxy and the SQL parser.
 */
export async function createGateway(
  cp: ControlPlane,
  o: {
    config: GatewayConfig;
    log: Logger;
    tls: ServerTls | null;
    policy: PolicySource;
    consoleUrl?: string | null | undefined;
  },
): Promise<Gateway> {
  const { Gateway } = await import('../gateway/gateway.js');
  return Gateway.create({
    config: o.config,
    log: o.log,
    tls: o.tls,
    store: cp.store,
    vault: cp.vault,
    tokens: cp.tokens,
    policy: o.policy,
    linkLogin: o.consoleUrl ? { queries: cp.identity, baseUrl: o.consoleUrl } : undefined,
  });
}
