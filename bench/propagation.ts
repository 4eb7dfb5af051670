import { connect as netConnect } from 'node:net';
import pg from 'pg';
import type { ControlPlane } from '../src/cli/control-plane.js';
import type { Gateway } from '../src/gateway/gateway.js';
import type { PolicyRuntime } from '../src/gateway/policy-runtime.js';
import { policyDigest, policyDiff } from '../src/policy/versioning.js';
import { PolicyQueries } from '../src/store/policy-queries.js';
import { AccessRequests } from '../src/access/access-requests.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../src/audit/keys.js';
import { AuditWriter } from '../src/audit/writer.js';
import { AlertSender } from '../src/detect/alerts.js';
import { AuditQueries } from '../src/store/audit-queries.js';
import { createLogger } from '../src/util/logger.js';
import { eventually } from '../test/harness/eventually.js';

/**
 * How soon a change made through one gateway (or the CLI, or the console) takes effect on
 * another gateway of the same store: the wall-clock bounds the correctness tests no longer
 * assert ("within a second", "within 1.5 s") are measured here instead, on real gateways
 * that share one store and hear each other only through NOTIFY.
 */

export interface GatewayUnderTest {
  cp: ControlPlane;
  gateway: Gateway;
  port: number;
}

export interface PropagationSetup {
  /** Where changes are made. */
  a: GatewayUnderTest;
  /** Where they must take effect: its own store connections, policy runtime and listeners. */
  b: GatewayUnderTest & { policy: PolicyRuntime };
  ca: string;
  database: string;
  /** A user the policy lets in; tokens are minted for it per try. */
  user: string;
  /** The policy documents in force; each try stores a variant and the last restores these. */
  policyDocuments: Record<string, string>;
  /** Superuser SQL on the upstream cluster (to see that a statement is running). */
  upstreamQuery(sql: string): Promise<pg.QueryResult>;
  tries: number;
}

export interface LatencyStats {
  tries: number;
  medianMs: number;
  maxMs: number;
  minMs: number;
  samplesMs: number[];
}

export type PropagationReport = Record<string, LatencyStats | { error: string }>;

/** Each measure, with what it starts from and what ends it. */
export const PROPAGATION_MEASURES = {
  'policy change -> applied on another gateway':
    "policy version committed through gateway A's store until gateway B has it in force",
  'token revoked (endSessions) -> session on another gateway ended':
    'revocation committed on A until the idle client of B reads its FATAL',
  'admin kill -> session on another gateway ended':
    'session-killed notice sent from A until the idle client of B reads its FATAL',
  'cancel on the owning gateway -> statement canceled': 'CancelRequest sent to A until the client of A reads 57014',
  'cancel via another gateway -> statement canceled':
    'CancelRequest sent to B (wrong gateway) until the client of A reads 57014',
  'access request approved -> first connection on another gateway':
    'approval committed through A (as the CLI and the console do) until a client of the requester, retrying, connects to B',
} as const;

type MeasureName = keyof typeof PROPAGATION_MEASURES;

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function stats(samples: number[]): LatencyStats {
  const sorted = [...samples].sort((x, y) => x - y);
  return {
    tries: samples.length,
    medianMs: round3(sorted[Math.floor(sorted.length / 2)]!),
    maxMs: round3(sorted[sorted.length - 1]!),
    minMs: round3(sorted[0]!),
    samplesMs: samples.map(round3),
  };
}

/** Polls tightly: the thing measured is milliseconds, the default 25 ms step would swamp it. */
const until = <T>(check: () => T | Promise<T>): Promise<T> => eventually(check, { intervalMs: 1, timeoutMs: 15_000 });

interface OpenClient {
  client: pg.Client;
  /** Resolves at the first sign the server ended the session (FATAL read, or the socket closed). */
  ended: Promise<number>;
}

async function openClient(s: PropagationSetup, port: number, token: string, user = s.user): Promise<OpenClient> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user,
    password: token,
    database: s.database,
    ssl: { ca: s.ca },
  });
  const ended = new Promise<number>((resolve) => {
    // Kept for the client's life: a session ended by the server may emit more than one error.
    client.on('error', () => resolve(performance.now()));
    client.once('end', () => resolve(performance.now()));
  });
  await client.connect();
  return { client, ended };
}

async function sessionOn(gw: Gateway, jti: string): Promise<string> {
  return until(() => {
    const s = gw.sessions.list().find((x) => x.tokenJti === jti);
    if (!s) throw new Error(`no session of token ${jti.slice(0, 8)} registered on the gateway yet`);
    return s.id;
  });
}

async function issue(s: PropagationSetup): Promise<{ token: string; jti: string }> {
  const t = await s.a.cp.tokens.issue({ user: s.user, groups: [], ttl: '10m', issuedBy: 'bench' });
  return { token: t.token, jti: t.jti };
}

async function policyChange(s: PropagationSetup, i: number): Promise<number> {
  const queries = new PolicyQueries(s.a.cp.store);
  const [file, text] = Object.entries(s.policyDocuments)[0]!;
  // A rule nobody matches: the policy in force changes, the bench's own access does not.
  const documents = {
    ...s.policyDocuments,
    [file]: `${text}  - name: bench-propagation-${i}\n    effect: deny\n    subjects: { users: [nobody-${i}] }\n`,
  };
  const t0 = performance.now();
  const { id } = await queries.append({
    author: 'bench',
    source: 'console',
    documents,
    digest: policyDigest(documents),
    diff: (prev) => policyDiff(prev, documents),
  });
  await until(() => {
    if ((s.b.policy.current().version ?? 0) < id) throw new Error(`policy version ${id} not in force on gateway B`);
  });
  return performance.now() - t0;
}

async function revocation(s: PropagationSetup): Promise<number> {
  const t = await issue(s);
  const c = await openClient(s, s.b.port, t.token);
  await sessionOn(s.b.gateway, t.jti);
  const t0 = performance.now();
  await s.a.cp.tokens.revoke(t.jti, 'bench', { endSessions: true });
  const t1 = await c.ended;
  await c.client.end().catch(() => undefined);
  return t1 - t0;
}

async function adminKill(s: PropagationSetup): Promise<number> {
  const t = await issue(s);
  const c = await openClient(s, s.b.port, t.token);
  const id = await sessionOn(s.b.gateway, t.jti);
  const t0 = performance.now();
  // What the console sends for a session another gateway owns.
  await s.a.cp.store.publish({ kind: 'session-killed', session: id, by: 'bench' });
  const t1 = await c.ended;
  await c.client.end().catch(() => undefined);
  return t1 - t0;
}

async function cancel(s: PropagationSetup, i: number, via: 'a' | 'b'): Promise<number> {
  const t = await issue(s);
  const c = await openClient(s, s.a.port, t.token);
  try {
    const sql = `select pg_sleep(30), ${1_000_000 + i}`;
    const running = c.client.query(sql).then(
      () => new Error('the statement finished instead of being canceled'),
      (e: unknown) => ({ at: performance.now(), e }),
    );
    await until(async () => {
      const { rows } = await s.upstreamQuery(
        `select count(*)::int as n from pg_stat_activity where state = 'active' and query = '${sql}'`,
      );
      if ((rows[0] as { n: number }).n === 0) throw new Error('statement not running upstream yet');
    });
    // The keys the client was given at login (node-postgres keeps them on the client).
    const keys = c.client as unknown as { processID: number; secretKey: number };
    const msg = Buffer.alloc(16);
    msg.writeUInt32BE(16, 0);
    msg.writeUInt32BE(80877102, 4);
    msg.writeInt32BE(keys.processID, 8);
    msg.writeInt32BE(keys.secretKey, 12);
    const t0 = performance.now();
    const sock = netConnect(via === 'a' ? s.a.port : s.b.port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.once('connect', () => sock.end(msg));
    const out = await running;
    if (out instanceof Error) throw out;
    const code = (out.e as { code?: string }).code;
    if (code !== '57014') throw new Error(`expected 57014, got ${code ?? String(out.e)}`);
    return out.at - t0;
  } finally {
    await c.client.end().catch(() => undefined);
  }
}

/**
 * A person with no standing grant asks for the requestable rule `bench-jit` (users jit-*) and
 * an approver approves through gateway A's store; the person's client keeps trying gateway B
 * (as psql in a retry loop would) until it gets in. B learns of the approval only by NOTIFY.
 */
async function accessApproval(s: PropagationSetup, requests: AccessRequests, i: number): Promise<number> {
  const user = `jit-${i}`;
  const t = await s.a.cp.tokens.issue({ user, groups: [], ttl: '10m', issuedBy: 'bench' });
  const row = await requests.create({
    user,
    groups: [],
    target: 'bench',
    database: s.database,
    targetDatabase: s.database,
    targetRole: 'bench',
    rule: 'bench-jit',
    duration: '5m',
  });
  await requests.approve(row.id, { user: 'bench-approver', groups: ['bench-approvers'] }, 'bench');
  const t0 = performance.now();
  const c = await until(() => openClient(s, s.b.port, t.token, user));
  const t1 = performance.now();
  await c.client.end().catch(() => undefined);
  return t1 - t0;
}

export async function measurePropagation(s: PropagationSetup, log: (line: string) => void): Promise<PropagationReport> {
  const quiet = createLogger('warn');
  const audit = new AuditWriter(new AuditQueries(s.a.cp.store), quiet, {
    keys: deriveAuditKeys(s.a.cp.vault.derive(AUDIT_KEY_LABEL)),
  });
  const requests = new AccessRequests({
    store: s.a.cp.store,
    audit,
    alerts: new AlertSender(quiet),
    policy: () => s.b.policy.current(),
    log: quiet,
    actor: 'bench',
  });
  const runs: Record<MeasureName, (i: number) => Promise<number>> = {
    'policy change -> applied on another gateway': (i) => policyChange(s, i),
    'token revoked (endSessions) -> session on another gateway ended': () => revocation(s),
    'admin kill -> session on another gateway ended': () => adminKill(s),
    'cancel on the owning gateway -> statement canceled': (i) => cancel(s, i, 'a'),
    'cancel via another gateway -> statement canceled': (i) => cancel(s, i, 'b'),
    'access request approved -> first connection on another gateway': (i) => accessApproval(s, requests, i),
  };
  const report: PropagationReport = {};
  // One untimed round first: listeners settle, pools and the user's SCRAM lookup warm up.
  let n = 0;
  for (const run of Object.values(runs)) await run(n++).catch(() => undefined);
  for (const [name, run] of Object.entries(runs) as Array<[MeasureName, (i: number) => Promise<number>]>) {
    log(`propagation: ${name} (${s.tries} tries)`);
    const samples: number[] = [];
    try {
      for (let i = 0; i < s.tries; i++) samples.push(await run(n++));
      report[name] = stats(samples);
    } catch (err) {
      report[name] = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  await audit.close();
  // Leave the policy as it was (it is also what the bench's gateways were started with).
  const queries = new PolicyQueries(s.a.cp.store);
  await queries.append({
    author: 'bench',
    source: 'console',
    documents: s.policyDocuments,
    digest: policyDigest(s.policyDocuments),
    diff: (prev) => policyDiff(prev, s.policyDocuments),
  });
  return report;
}
