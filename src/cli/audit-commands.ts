import { access } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { defaultCheckpointFile } from '../audit/checkpoint.js';
import { exportAudit } from '../audit/export.js';
import { EXPORT_FORMATS, type ExportFormat } from '../audit/formats.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../audit/keys.js';
import { applyRetention } from '../audit/retention.js';
import { verifyExport, type VerifyResult } from '../audit/verify.js';
import type { GatewayConfig } from '../config/schema.js';
import { AuditQueries } from '../store/audit-queries.js';
import { parseDuration } from '../util/duration.js';
import { withControlPlane, loadCliConfig } from './cli-context.js';
import { CliUsageError, toCliError } from './cli-errors.js';
import { durationOption, parseUserJson, readUserFile, requireFile } from './cli-input.js';

function time(v: string, what: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new CliUsageError(`--${what}: not a time: ${v}`);
  return d;
}

/**
 * The checkpoint log a gateway with this config keeps: audit.checkpoint.file, else beside its
 * spool (placed as gateway.ts places it). Read through a wider type: the checkpoint keys are
 * optional in the configuration.
 */
export function localCheckpointFile(config: GatewayConfig): string {
  const audit = config.audit as GatewayConfig['audit'] & { checkpoint?: { file?: string } };
  if (audit.checkpoint?.file) return resolve(audit.checkpoint.file);
  return defaultCheckpointFile(resolve(audit.spoolDir ?? `.pgward/spool/${config.gatewayId}`));
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export interface ExportCommandOptions {
  from: string;
  to?: string | undefined;
  user?: string | undefined;
  format: string;
  out: string;
  /** Checkpoint logs to attach besides this host's gateway's (other gateways', a webhook's collection). */
  checkpoint?: string[] | undefined;
  /** Also refused logins and admin actions (auth_events, admin_events), after the session events. */
  withEvents?: boolean | undefined;
}

/**
 * `pgward audit export`: streams events to a file and signs a manifest next to it. Where the
 * vault key is, every event's MAC is checked, and the checkpoint log of this host's gateway
 * (and any given) is attached, so the export can be verified against them offline.
 */
export async function auditExport(
  configPath: string | undefined,
  o: ExportCommandOptions,
): Promise<{ events: number; manifestPath: string; macProblems: number }> {
  if (!EXPORT_FORMATS.includes(o.format as ExportFormat))
    throw new CliUsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  const config = await loadCliConfig(configPath);
  const local = localCheckpointFile(config);
  for (const c of o.checkpoint ?? []) await requireFile(c, '--checkpoint');
  const checkpoints = [...((await exists(local)) ? [local] : []), ...(o.checkpoint ?? [])];
  return withControlPlane(configPath, async (cp) => {
    const key = cp.keys.signingKey();
    const publicKey = (await importJWK(cp.keys.activePublicJwk(), 'ES256')) as CryptoKey;
    const audit = new AuditQueries(cp.store);
    const tty = process.stderr.isTTY;
    const started = Date.now();
    const { manifest, manifestPath } = await exportAudit(audit, {
      from: time(o.from, 'from'),
      to: o.to ? time(o.to, 'to') : new Date(),
      user: o.user,
      format: o.format as ExportFormat,
      out: o.out,
      signer: { kid: key.kid, privateKey: key.privateKey, publicKey },
      mac: { keys: deriveAuditKeys(cp.vault.derive(AUDIT_KEY_LABEL)), keyedSince: await audit.keyedSince() },
      checkpoints,
      ...(o.withEvents ? { include: { auth: true, admin: true } } : {}),
      progress: (n, total) => {
        if (!tty) return;
        const width = 30;
        const done = total ? Math.round((n / total) * width) : width;
        const rate = Math.round(n / Math.max(0.001, (Date.now() - started) / 1000));
        process.stderr.write(`\r[${'#'.repeat(done)}${' '.repeat(width - done)}] ${n}/${total} events, ${rate}/s`);
      },
    });
    if (tty) process.stderr.write('\n');
    const problems = manifest.mac?.problems ?? 0;
    process.stderr.write(
      [
        `exported ${manifest.events} events of ${manifest.sessions.length} sessions to ${o.out}`,
        `signed manifest: ${manifestPath}`,
        manifest.checkpoints
          ? `checkpoints attached: ${manifest.checkpoints.file} (${manifest.checkpoints.lines} from ${checkpoints.join(', ')})`
          : `no checkpoint log attached (none at ${local}; add others with --checkpoint FILE): deleted sessions cannot be shown`,
        ...(problems
          ? [
              `WARNING: ${problems} event(s) carry no valid MAC (written without the audit key); audit verify will fail and name them`,
            ]
          : []),
      ].join('\n') + '\n',
    );
    return { events: manifest.events, manifestPath, macProblems: problems };
  });
}

export interface VerifyCommandOptions {
  manifest?: string | undefined;
  /** Pinned keys: JWKS files or https URLs (from `pgward audit key`). */
  jwks?: string | string[] | undefined;
  /** Pinned key thumbprints (RFC 7638, base64url). */
  pin?: string[] | undefined;
  /** Accept the keys the files carry, printing their thumbprints and how to pin them. */
  trustOnFirstUse?: boolean | undefined;
  /** Checkpoint logs besides the ones the export carries. */
  checkpoint?: string[] | undefined;
  /** Also refused logins and admin actions (auth_events, admin_events), after the session events. */
  withEvents?: boolean | undefined;
}

const JWKS_HINT = 'write the pinned keys with `pgward audit key > audit-jwks.json` where the vault key is';

/** A JWKS from a file, or from an https URL (http only to this machine). */
async function loadJwks(source: string): Promise<JWK[]> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    if (url.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))
      throw new CliUsageError(`--jwks ${source}: a pinned key is fetched over https only`);
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      throw toCliError(err, {
        peer: source,
        unreachableHint: 'check the URL, or save the keys to a file and give that',
      });
    });
    if (!res.ok) throw new CliUsageError(`--jwks ${source}: HTTP ${res.status}`, { hint: JWKS_HINT });
    text = await res.text();
  } else text = await readUserFile(source, '--jwks', JWKS_HINT);
  const parsed = parseUserJson(text, `--jwks ${source}`, JWKS_HINT) as { keys?: unknown } | null;
  const keys = parsed && typeof parsed === 'object' ? parsed.keys : undefined;
  if (!Array.isArray(keys))
    throw new CliUsageError(`--jwks ${source}: not a JWKS (no "keys" array)`, { hint: JWKS_HINT });
  return keys as JWK[];
}

/**
 * `pgward audit verify`: exit 0 only if the export is complete and unchanged, signed by a
 * pinned key (or one taken on first use when asked), with every MAC the export checked
 * valid, and nothing a checkpoint saw rewritten, deleted or cut short.
 */
export async function auditVerify(path: string, o: VerifyCommandOptions): Promise<boolean> {
  const sources = o.jwks === undefined ? [] : Array.isArray(o.jwks) ? o.jwks : [o.jwks];
  // A missing export is a wrong argument, not a broken export (the manifest check would say "missing manifest").
  await requireFile(path, 'export', 'give the data file `pgward audit export -o FILE` wrote (not its .manifest.jws)');
  if (o.manifest) await requireFile(o.manifest, '--manifest');
  for (const c of o.checkpoint ?? []) await requireFile(c, '--checkpoint');
  const keys = (await Promise.all(sources.map(loadJwks))).flat();
  const r = await verifyExport(path, {
    manifestPath: o.manifest,
    jwks: sources.length ? { keys } : undefined,
    thumbprints: o.pin,
    checkpoints: o.checkpoint,
  });
  const out = (line: string): boolean => process.stdout.write(line + '\n');
  if (!r.ok) {
    out(`BROKEN: ${r.problem}`);
    return false;
  }
  if (!r.pinned && !o.trustOnFirstUse) {
    out(refusedUnpinned(path, r));
    return false;
  }
  out(
    `OK: ${r.events} events in ${r.sessions} sessions; every hash and chain link checks out against the signed manifest`,
  );
  for (const note of r.notes) out(`  ${note}`);
  if (!r.pinned) {
    out(`trusted on first use: manifest key ${r.keyThumbprint ?? '?'}${thumbs(r)}`);
    out(`pin them for every later check: ${pinAdvice(path, r)}`);
  }
  return true;
}

const thumbs = (r: VerifyResult): string =>
  r.checkpointThumbprints.length ? `, checkpoint key ${r.checkpointThumbprints.join(', ')}` : '';

function pinAdvice(path: string, r: VerifyResult): string {
  const pins = [r.keyThumbprint, ...r.checkpointThumbprints].filter(Boolean).map((t) => `--pin ${t}`);
  return `pgward audit key > audit-jwks.json (where the vault key is), then pgward audit verify ${path} --jwks audit-jwks.json; or compare the thumbprints with that file and use ${pins.join(' ')}`;
}

function refusedUnpinned(path: string, r: VerifyResult): string {
  return [
    `REFUSED: the export checks out against its manifest, but the manifest is signed by a key that is not pinned (thumbprint ${r.keyThumbprint ?? '?'}${thumbs(r)}).`,
    'Anyone can sign a manifest with a key of their own; only a pinned key shows it came from your gateways.',
    `Pin it: ${pinAdvice(path, r)}.`,
    'To accept the key this once (and see its thumbprint), add --trust-on-first-use.',
  ].join('\n');
}

/**
 * `pgward audit key`: the public keys auditors pin (JWKS): the active manifest-signing key,
 * taken from its private half (opened with the vault key), and the audit checkpoint key
 * (derived from the vault key). Neither comes from a column someone who can write only to
 * the store could change.
 */
export function auditKey(configPath: string | undefined): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    const audit = deriveAuditKeys(cp.vault.derive(AUDIT_KEY_LABEL));
    process.stdout.write(JSON.stringify({ keys: [cp.keys.activePublicJwk(), audit.publicJwk] }, null, 2) + '\n');
  });
}

export function auditRetention(configPath: string | undefined, olderThan: string): Promise<number> {
  durationOption(olderThan, '--older-than');
  return withControlPlane(configPath, async (cp) => {
    const cutoff = new Date(Date.now() - parseDuration(olderThan));
    const n = await applyRetention(new AuditQueries(cp.store), cutoff, `${userInfo().username}@${hostname()} (cli)`);
    process.stderr.write(
      `deleted ${n} events older than ${cutoff.toISOString()}; the deletion is recorded in admin_events\n`,
    );
    return n;
  });
}
