import type { GatewayConfig } from '../config/schema.js';
import type { AddressSet } from '../util/address-set.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AlertSender } from '../detect/alerts.js';
import type { StatementInspector } from '../detect/classify.js';
import type { ReadOnlyGuard } from '../detect/read-only-guard.js';
import type { DetectorQueries } from '../store/detector-queries.js';
import type { BaselineCache } from './baseline-cache.js';
import type { GatewayMetrics } from './metrics.js';
import type { UpstreamBroker } from '../upstream/broker.js';
import type { TokenService } from '../identity/token-service.js';
import type { WorkloadIdentity } from '../identity/workload.js';
import type { Store } from '../store/store.js';
import type { UpstreamEndpoint } from '../upstream/connector.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import type { CancelRouter } from './cancel-router.js';
import type { ServerTls } from './server-tls.js';
import type { PolicySource } from './policy-runtime.js';
import type { TemporaryGrantSource } from '../access/temporary-grants.js';
import type { SessionRegistry } from './session-registry.js';
import type { LinkLoginPorts } from './phases/auth-common.js';

export interface ResolvedTarget {
  name: string;
  database: string;
  /** Other upstream databases clients may name on this server (globs). */
  databases: string[];
  role: string;
  endpoint: UpstreamEndpoint;
  /** Each person logs in as their own role per grant, made by this provisioner (personRoles); null: as the granted role. */
  personRoles?: { provisioner: string } | null;
  pool: {
    enabled: boolean;
    min: number;
    idleMs: number;
    reset: string;
    assign: 'first-message' | 'login';
    max: number;
    waitTimeoutMs: number;
    maxPools?: number | undefined;
  };
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
  policy: PolicySource;
  /** Approved access requests in force here (src/access/temporary-grants.ts). */
  temporary: TemporaryGrantSource & { close(): Promise<void> };
  /** The relay's check for read-only sessions (its verdicts are cached by statement text). */
  readOnlyGuard: ReadOnlyGuard;
  inspector: StatementInspector;
  audit: AuditWriter;
  baselines: BaselineCache;
  alerts: AlertSender;
  detectorQueries: DetectorQueries;
  metrics: GatewayMetrics;
  /** Warm upstream connections per (target, role, database, read-only), each pool capped. */
  pools: UpstreamBroker;
  /** Records still being written: session ends, auth failures, anomalies (awaited at shutdown). */
  sessionEnds: Set<Promise<void>>;
  /** The console people sign in at, named in the hint of a dead token's FATAL (null: none known). */
  consoleUrl: string | null;
  /** Set when a console URL is known: clients with no live token get a sign-in link. */
  linkLogin: LinkLoginPorts | null;
  /** External issuers whose JWTs are accepted as cleartext passwords. */
  workload: WorkloadIdentity | null;
  /** Keys the SCRAM mock salt for unknown users, stable across gateways sharing a vault key. */
  scramMockSecret: Buffer;
  /** Keys the hash strategy of data masking (vault.derive(MASKING_KEY_LABEL)): every gateway sharing the vault key hashes alike. */
  maskingKey: Buffer;
  /** Failed logins per address and per user (brute-force brake). */
  throttle: AuthThrottle;
  /** Load balancers whose PROXY v2 headers name the real client (null: none configured). */
  proxyFrom: AddressSet | null;
}
