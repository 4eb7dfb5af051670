import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CompactSign, exportJWK, type CryptoKey } from 'jose';
import type { EventRange, SideEventSink, StoredEvent } from '../store/audit-queries.js';
import type { ChainedEvent } from './chain.js';
import { decodePayload } from './checkpoint.js';
import { adminRecord, authRecord, formatEvent, formatSide, header, type ExportFormat } from './formats.js';
import { macMatches, type AuditKeys } from './keys.js';

/** Per session: where its exported stretch of chain starts and ends. */
export interface ManifestSession {
  id: string;
  first_seq: number;
  first_prev_hash: string;
  last_seq: number;
  last_hash: string;
  events: number;
}

/** An event whose MAC is missing or wrong, as the export found it. */
export interface MacProblem {
  session: string;
  seq: number;
  at: string;
  problem: 'no MAC' | 'MAC does not match';
}

/** What the export found checking every event's MAC with the audit key (keys.ts). */
export interface ManifestMac {
  /** The audit keys' id (the checkpoint key's thumbprint). */
  kid: string;
  /** Events recorded from then on must carry a MAC: the store's keyed migration, or the earliest checkpoint log's start. */
  keyed_since: string | null;
  valid: number;
  /** Events without a MAC recorded before keyed_since (written before keyed chains). */
  legacy: number;
  problems: number;
  /** The first problems (at most MAX_MAC_PROBLEMS listed). */
  first_problems: MacProblem[];
}

/** The checkpoint logs copied next to the export (EXPORT.checkpoints.jsonl), as signed. */
export interface ManifestCheckpoints {
  file: string;
  sha256: string;
  lines: number;
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
  /** Absent when the export was made without the audit key (then MACs were not checked). */
  mac?: ManifestMac;
  /** Absent when no checkpoint log was attached. */
  checkpoints?: ManifestCheckpoints;
  /** Logins (auth_events) exported after the chained events; absent when not asked for. */
  auth_events?: ManifestSide;
  /** Admin actions (admin_events) exported after the logins; absent when not asked for. */
  admin_events?: ManifestSide;
}

/** How many logins or admin actions the export holds, and their id range (ids grow; gaps are rows outside the range or filter). */
export interface ManifestSide {
  events: number;
  first_id: number | null;
  last_id: number | null;
}

const MAX_MAC_PROBLEMS = 100;

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
  /** With the audit keys, every event's MAC is checked and the result signed in the manifest. */
  mac?: { keys: AuditKeys; keyedSince: Date | null } | undefined;
  /** Checkpoint logs (signed JSONL, from the gateways' state directories or their webhook) to attach. */
  checkpoints?: string[] | undefined;
  /** Also export the range's logins (auth_events, by username) and admin actions (admin_events, by actor). */
  include?: { auth?: boolean | undefined; admin?: boolean | undefined } | undefined;
}

/** Where the events come from (AuditQueries): a range in chain order, batch by batch, in one snapshot. */
export interface EventSource {
  readEvents(
    range: EventRange,
    batchSize: number,
    sink: {
      total(events: number): void;
      batch(events: StoredEvent[]): Promise<void>;
      side?: SideEventSink | undefined;
    },
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
  const attached = o.checkpoints?.length ? await attachCheckpoints(o.checkpoints, `${o.out}.checkpoints.jsonl`) : null;
  const sides = { auth: emptySide(), admin: emptySide() };
  const count = (m: ManifestSide, ids: number[]): void => {
    m.events += ids.length;
    m.first_id ??= ids[0] ?? null;
    m.last_id = ids.at(-1) ?? m.last_id;
  };
  const side: SideEventSink = {
    ...(o.include?.auth
      ? {
          auth: async (rows) => {
            count(
              sides.auth,
              rows.map((r) => r.id),
            );
            await write(rows.map((r) => formatSide(o.format, authRecord(r))).join(''));
          },
        }
      : {}),
    ...(o.include?.admin
      ? {
          admin: async (rows) => {
            count(
              sides.admin,
              rows.map((r) => r.id),
            );
            await write(rows.map((r) => formatSide(o.format, adminRecord(r))).join(''));
          },
        }
      : {}),
  };
  const macs = o.mac ? new MacCheck(o.mac.keys, earliest(o.mac.keyedSince, attached?.keyedSince ?? null)) : null;
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
          macs?.check(e, r.mac);
          chunk += formatEvent(o.format, e);
        }
        await write(chunk);
        written += rows.length;
        o.progress?.(written, total);
      },
      ...(o.include?.auth || o.include?.admin ? { side } : {}),
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
    ...(macs ? { mac: macs.summary() } : {}),
    ...(attached ? { checkpoints: attached.manifest } : {}),
    ...(o.include?.auth ? { auth_events: sides.auth } : {}),
    ...(o.include?.admin ? { admin_events: sides.admin } : {}),
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
  await writeFile(manifestPath, jws + '\n', { mode: 0o600 });
  return { manifest, manifestPath };
}

const emptySide = (): ManifestSide => ({ events: 0, first_id: null, last_id: null });

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a || !b) return a ?? b;
  return a < b ? a : b;
}

/** Checks each exported event's MAC with the audit key; what it finds is signed in the manifest. */
class MacCheck {
  private valid = 0;
  private legacy = 0;
  private problems: MacProblem[] = [];
  private count = 0;
  private readonly since: string | null;

  constructor(
    private readonly keys: AuditKeys,
    keyedSince: Date | null,
  ) {
    this.since = keyedSince?.toISOString() ?? null;
  }

  check(e: ChainedEvent, mac: Buffer | null): void {
    if (mac && macMatches(this.keys.macKey, e.hash, mac)) this.valid++;
    else if (!mac && this.since !== null && e.at < this.since) this.legacy++;
    else {
      this.count++;
      if (this.problems.length < MAX_MAC_PROBLEMS)
        this.problems.push({
          session: e.session_id,
          seq: e.seq,
          at: e.at,
          problem: mac ? 'MAC does not match' : 'no MAC',
        });
    }
  }

  summary(): ManifestMac {
    return {
      kid: this.keys.kid,
      keyed_since: this.since,
      valid: this.valid,
      legacy: this.legacy,
      problems: this.count,
      first_problems: this.problems,
    };
  }
}

/**
 * Copies checkpoint logs into one file next to the export (their lines as they are, file
 * after file), so the export carries what it is verified against; the manifest signs its
 * digest. Returns also the earliest time a log says its gateway began keying events.
 */
async function attachCheckpoints(
  paths: string[],
  out: string,
): Promise<{ manifest: ManifestCheckpoints; keyedSince: Date | null }> {
  const lines: string[] = [];
  let keyedSince: Date | null = null;
  for (const path of paths) {
    for (const line of (await readFile(path, 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      lines.push(line.trim());
      const since = decodePayload(line.trim())?.keyed_since;
      if (since) keyedSince = earliest(keyedSince, new Date(since));
    }
  }
  const text = lines.map((l) => l + '\n').join('');
  await writeFile(out, text, { mode: 0o600 });
  return {
    manifest: { file: basename(out), sha256: createHash('sha256').update(text).digest('hex'), lines: lines.length },
    keyedSince,
  };
}
