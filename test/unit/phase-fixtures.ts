import { Duplex } from 'node:stream';
import type { ResolvedTarget } from '../../src/gateway/context.js';
import type { Grant } from '../../src/policy/evaluate.js';
import type { UpstreamConnection } from '../../src/upstream/connector.js';
import type { PoolKey } from '../../src/upstream/pool-key.js';

/** Shared by the phase and live-session tests: one target, one grant on it, its pool key. */
export const target: ResolvedTarget = {
  name: 'app',
  database: 'app',
  databases: [],
  role: 'app_rw',
  endpoint: { host: '127.0.0.1', port: 1, tlsMode: 'disable', allowedAuth: ['scram-sha-256'], connectTimeoutMs: 1_000 },
  pool: {
    enabled: true,
    min: 0,
    idleMs: 60_000,
    reset: 'DISCARD ALL',
    assign: 'first-message',
    max: 1,
    waitTimeoutMs: 50,
  },
};

export const grant: Grant = {
  kind: 'grant',
  rule: 'r',
  file: 'f.yaml',
  target: 'app',
  database: 'app',
  role: 'app_ro',
  forward: [],
  replication: null,
  session: { readOnly: false, maxDurationMs: null, idleTimeoutMs: null, detector: 'default' },
  policyVersion: 1,
};

export const grantKey: PoolKey = { target: 'app', role: 'app_ro', database: 'app', readOnly: false, settings: [] };

/** An upstream connection over `socket` (a sink that swallows writes when none is given). */
export function connection(pid: number, socket?: UpstreamConnection['socket']): UpstreamConnection {
  const sink =
    socket ?? (new Duplex({ read() {}, write: (_c, _e, cb) => cb() }) as unknown as UpstreamConnection['socket']);
  return {
    socket: sink,
    parameters: [['server_version', '17.0']],
    pid,
    key: Buffer.alloc(4),
    protocolMinor: 0,
    leftover: Buffer.alloc(0),
    tls: null,
    authMethod: 'trust',
    channelBound: false,
  };
}
