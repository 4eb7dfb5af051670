import { storableText } from '../audit/chain.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Grant } from '../policy/evaluate.js';
import type { StartupSettings } from '../policy/startup-settings.js';
import type { EndReason, RelayStats } from '../relay/relay.js';
import { AccessRequestQueries } from '../store/access-request-queries.js';
import { Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import type { ClientLink } from './client-link.js';
import type { ResolvedTarget } from './context.js';
import type { Authenticated } from './phases/auth-common.js';
import { track } from './phases/failures.js';

export interface SessionRecordPorts {
  store: Pick<Store, 'sessionOpened' | 'sessionEnded'>;
  audit: AuditWriter;
  /** Records still being written (awaited at shutdown and by Gateway.settled). */
  pending: Set<Promise<void>>;
  gatewayId: string;
}

/** What the record says about the session. */
export interface RecordedSession {
  id: string;
  log: Logger;
  link: ClientLink;
  who: Authenticated;
  target: ResolvedTarget;
  grant: Grant;
  settings: StartupSettings;
}

/**
 * A session's audit trail: its row in the store (opened at ReadyForQuery, closed with its
 * end and chain head) and its hash-chained events. The end waits for the opening write.
 */
export class SessionRecord {
  private opening: Promise<void> = Promise.resolve();

  constructor(
    private readonly s: RecordedSession,
    private readonly ports: SessionRecordPorts,
  ) {}

  append(kind: string, payload: Record<string, unknown>): void {
    this.ports.audit.append(this.s.id, this.s.who.user, kind, payload);
  }

  opened(): void {
    const { s, ports } = this;
    const { link, who, target, grant, settings } = s;
    const tls = link.tls;
    this.opening = ports.store
      .sessionOpened({
        id: s.id,
        gatewayId: ports.gatewayId,
        clientAddr: link.addr,
        clientPort: link.port,
        startedAt: link.startedAt,
        // The row's text columns cannot hold U+0000 (a claim of an external issuer may): a searchable copy; the events keep it exactly.
        username: storableText(who.user),
        groups: who.groups.map(storableText),
        tokenJti: who.tokenJti,
        target: target.name,
        database: grant.database,
        upstreamRole: grant.role,
        applicationName: settings.applicationName,
        tlsVersion: tls?.getProtocol() ?? null,
        tlsCipher: tls?.getCipher()?.name ?? null,
        alpn: tls ? tls.alpnProtocol || null : null,
        authMethod: who.method,
        channelBinding: who.method === 'scram-sha-256-plus',
        readyAt: new Date(),
        stageMs: link.stages,
        policyRule: grant.rule,
        policyVersion: grant.policyVersion,
        readOnly: grant.session.readOnly,
      })
      // The row names the request that admitted the session (a second write, for grant sessions only).
      .then(() => this.linkRequest())
      .catch((err: unknown) =>
        s.log.error({ event: 'audit_write_failed', err: (err as Error).message }, 'session record not written'),
      );
    this.append('session_start', {
      client: link.addr,
      tls: tls?.getProtocol() ?? null,
      method: who.method,
      groups: who.groups,
      target: target.name,
      database: grant.database,
      role: grant.role,
      application: settings.applicationName,
    });
    this.append('policy', {
      rule: grant.rule,
      file: grant.file,
      version: grant.policyVersion,
      readOnly: grant.session.readOnly,
      detector: grant.session.detector,
      ...(grant.request ? { request: grant.request } : {}),
    });
    // The use of a temporary grant, in the session's chain (its request's own chain holds the rest).
    if (grant.request) this.append('access_used', { request: grant.request, rule: grant.rule, role: grant.role });
  }

  private async linkRequest(): Promise<void> {
    const { request } = this.s.grant;
    // The gateway's ports carry the real store; a test's stand-in for the two row writes has no sessions table.
    if (request && this.ports.store instanceof Store)
      await new AccessRequestQueries(this.ports.store).sessionGranted(this.s.id, request);
  }

  /** The end: the last event, the chain closed, the row completed (after the events are written), then `after`. */
  closed(
    reason: EndReason,
    detail: string | undefined,
    stats: RelayStats,
    monitor: { statements: number; anomalies: number } | null,
    after: (() => Promise<void>) | null,
  ): void {
    const { s, ports } = this;
    this.append('session_end', { reason, ...(detail ? { detail } : {}), ...stats });
    const chain = ports.audit.endChain(s.id);
    track(
      ports.pending,
      this.opening
        .then(() => ports.audit.flush())
        .then(() =>
          ports.store.sessionEnded(s.id, {
            endedAt: new Date(),
            endReason: reason,
            ...stats,
            statements: monitor?.statements ?? 0,
            anomalies: monitor?.anomalies ?? 0,
            chainHead: chain?.head ?? null,
            chainLength: chain?.seq ?? 0,
          }),
        )
        .then(() => after?.())
        .catch((err: unknown) =>
          s.log.error({ event: 'audit_write_failed', err: (err as Error).message }, 'session end not written'),
        ),
    );
  }
}
