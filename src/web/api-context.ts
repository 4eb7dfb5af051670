import type { GatewayConfig } from '../config/schema.js';
import type { SigningKeys } from '../identity/signing-keys.js';
import type { TokenService } from '../identity/token-service.js';
import type { PolicySet } from '../policy/schema.js';
import type { AuditQueries } from '../store/audit-queries.js';
import type { ConsoleQueries } from '../store/console-queries.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import type { PgEndpoint } from './connect-lines.js';

/** What a live session is doing now (the gateway's LiveSessionStats, seen structurally). */
export interface LiveStatsView {
  database: string;
  upstreamRole: string;
  applicationName: string | null;
  rule: string;
  readOnly: boolean;
  state: 'active' | 'idle';
  transaction: 'idle' | 'in transaction' | 'failed' | null;
  statement: string | null;
  statementSince: Date | null;
  statements: number | null;
  rowsToClient: number;
  bytesFromClient: number;
  bytesToClient: number;
  anomalies: number;
}

/** The live sessions of the gateway in this process, if one runs here. */
export interface LiveSessions {
  list(): Array<{
    id: string;
    user: string | null;
    target: string | null;
    clientAddr: string;
    startedAt: Date;
    tokenJti?: string | null;
    request?: string | null;
    stats?(): LiveStatsView;
    kill(reason: string): void;
  }>;
}

export interface ConsoleDeps {
  config: GatewayConfig;
  log: Logger;
  store: Store;
  vault: Vault;
  tokens: TokenService;
  keys: SigningKeys;
  policy: { current(): PolicySet };
  live: LiveSessions | null;
  publicUrl: string;
  /** Where psql connects, for the psql lines of the developer's page (absent: the page points to Connect). */
  pg?: PgEndpoint | undefined;
}

/** What the route groups share. */
export interface ApiContext extends ConsoleDeps {
  queries: ConsoleQueries;
  /** The audit record: admin events, and the event source of exports. */
  audit: AuditQueries;
  /** Records an admin action in admin_events and the log. */
  adminEvent(actor: string, action: string, detail: Record<string, unknown>): Promise<void>;
}
