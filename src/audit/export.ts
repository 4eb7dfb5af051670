import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { CompactSign, exportJWK, type CryptoKey } from 'jose';
import type { EventRange, StoredEvent } from '../store/audit-queries.js';
import type { ChainedEvent } from './chain.js';
import { formatEvent, header, type ExportFormat } from './formats.js';

/** Per session: where its exported stretch of chain starts and ends. */
export interface ManifestSession {
  id: string;
  first_seq: number;
  first_prev_hash: string;
  last_seq: number;
  last_hash: string;
  events: number;
}

export interface Manifest {
  pgward_audit_export: 1;
  format: ExportFormat;
  from: string;
  to: string;
  user: string | null;
  exported_at: string;
  events: number;
  sha256: string;
  sessions: ManifestSession[];
}

export interface ExportOptions {
  from: Date;
  to: Date;
  user?: string | undefined;
  format: ExportFormat;
  out: string;
  signer: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey };
  /** Called every batch with (written, total). */
  progress?: (written: number, total: number) => void;
  batchSize?: number;
}

/** Where the events come from (AuditQueries): a range in chain order, batch by batch, in one snapshot. */
export interface EventSource {
  readEvents(
    range: EventRange,
    batchSize: number,
    sink: { total(events: number): void; batch(events: StoredEvent[]): Promise<void> },
  ): Promise<void>;
}

/**
 * Streams the events of a time range (whole sessions' stretches, in chain order) to a
 * file through a server-side cursor, so memory stays flat at any volume, then signs a
 * manifest (JWS, the gateway's key) over the file's digest and every chain's ends.
 */
export async function exportAudit(
  source: EventSource,
  o: ExportOptions,
): Promise<{ manifest: Manifest; manifestPath: string }> {
  const digest = createHash('sha256');
  const file = createWriteStream(o.out, { mode: 0o600 });
  const write = async (text: string): Promise<void> => {
    digest.update(text);
    if (!file.write(text)) await once(file, 'drain');
  };
  const sessions: ManifestSession[] = [];
  let current: ManifestSession | null = null;
  let written = 0;
  let total = 0;
  try {
    await write(header(o.format));
    await source.readEvents({ from: o.from, to: o.to, user: o.user }, o.batchSize ?? 2_000, {
      total: (n) => {
        total = n;
      },
      batch: async (rows) => {
        let chunk = '';
        for (const r of rows) {
          const e: ChainedEvent = {
            session_id: r.sessionId,
            seq: r.seq,
            at: r.at.toISOString(),
            kind: r.kind,
            username: r.username,
            payload: r.payload,
            prev_hash: r.prevHash.toString('hex'),
            hash: r.hash.toString('hex'),
          };
          if (!current || current.id !== e.session_id) {
            current = {
              id: e.session_id,
              first_seq: e.seq,
              first_prev_hash: e.prev_hash,
              last_seq: e.seq,
              last_hash: e.hash,
              events: 0,
            };
            sessions.push(current);
          }
          current.last_seq = e.seq;
          current.last_hash = e.hash;
          current.events++;
          chunk += formatEvent(o.format, e);
        }
        await write(chunk);
        written += rows.length;
        o.progress?.(written, total);
      },
    });
  } catch (err) {
    file.destroy();
    throw err;
  }
  file.end();
  await once(file, 'finish');
  const manifest: Manifest = {
    pgward_audit_export: 1,
    format: o.format,
    from: o.from.toISOString(),
    to: o.to.toISOString(),
    user: o.user ?? null,
    exported_at: new Date().toISOString(),
    events: written,
    sha256: digest.digest('hex'),
    sessions,
  };
  const jwk = await exportJWK(o.signer.publicKey);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(manifest)))
    .setProtectedHeader({
      alg: 'ES256',
      kid: o.signer.kid,
      typ: 'pgward-audit-manifest+jws',
      jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! },
    })
    .sign(o.signer.privateKey);
  const manifestPath = `${o.out}.manifest.jws`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(manifestPath, jws + '\n', { mode: 0o600 });
  return { manifest, manifestPath };
}
