import type { GatewayConfig } from '../config/schema.js';
import type { TokenService } from '../identity/token-service.js';
import type { Store } from '../store/store.js';
import type { UpstreamEndpoint } from '../upstream/connector.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import type { CancelRouter } from './cancel-router.js';
import type { ServerTls } from './server-tls.js';
import type { SessionRegistry } from './session-registry.js';

export interface ResolvedTarget {
  name: string;
  database: string;
  role: string;
  endpoint: UpstreamEndpoint;
}

/** Everything a connection needs, built once by the gateway. */
export interface GatewayContext {
  config: GatewayConfig;
  log: Logger;
  tls: ServerTls | null;
  tokens: TokenService;
  vault: Vault;
  store: Store;
  cancels: CancelRouter;
  sessions: SessionRegistry;
  targets: Map<string, ResolvedTarget>;
  /** Keys the SCRAM mock salt for unknown users, stable across gateways sharing a vault key. */
  scramMockSecret: Buffer;
}
