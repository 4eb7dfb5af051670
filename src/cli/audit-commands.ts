import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { exportAudit } from '../audit/export.js';
import { EXPORT_FORMATS, type ExportFormat } from '../audit/formats.js';
import { applyRetention } from '../audit/retention.js';
import { verifyExport } from '../audit/verify.js';
import { AuditQueries } from '../store/audit-queries.js';
import { parseDuration } from '../util/duration.js';
import { withControlPlane } from './admin-commands.js';
import { CliUsageError } from './policy-commands.js';

function time(v: string, what: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new CliUsageError(`--${what}: not a time: ${v}`);
  return d;
}

/** `pgward audit export`: streams events to a file and signs a manifest next to it. */
export function auditExport(
  configPath: string | undefined,
  o: { from: string; to?: string | undefined; user?: string | undefined; format: string; out: string },
): Promise<{ events: number; manifestPath: string }> {
  if (!EXPORT_FORMATS.includes(o.format as ExportFormat))
    throw new CliUsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  return withControlPlane(configPath, async (cp) => {
    const key = cp.keys.signingKey();
    const jwk = cp.keys.publicJwks().keys.find((k) => k.kid === key.kid);
    if (!jwk) throw new Error('the signing key has no public half in the store');
    const publicKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
    const tty = process.stderr.isTTY;
    const started = Date.now();
    const { manifest, manifestPath } = await exportAudit(new AuditQueries(cp.store), {
      from: time(o.from, 'from'),
      to: o.to ? time(o.to, 'to') : new Date(),
      user: o.user,
      format: o.format as ExportFormat,
      out: o.out,
      signer: { kid: key.kid, privateKey: key.privateKey, publicKey },
      progress: (n, total) => {
        if (!tty) return;
        const width = 30;
        const done = total ? Math.round((n / total) * width) : width;
        const rate = Math.round(n / Math.max(0.001, (Date.now() - started) / 1000));
        process.stderr.write(`\r[${'#'.repeat(done)}${' '.repeat(width - done)}] ${n}/${total} events, ${rate}/s`);
      },
    });
    if (tty) process.stderr.write('\n');
    process.stderr.write(
      `exported ${manifest.events} events of ${manifest.sessions.length} sessions to ${o.out}\nsigned manifest: ${manifestPath}\n`,
    );
    return { events: manifest.events, manifestPath };
  });
}

/** `pgward audit verify`: exit 0 only if the export is complete and unchanged. */
export async function auditVerify(
  path: string,
  o: { manifest?: string | undefined; jwks?: string | undefined },
): Promise<boolean> {
  const jwks = o.jwks ? (JSON.parse(await readFile(o.jwks, 'utf8')) as { keys: JWK[] }) : undefined;
  const r = await verifyExport(path, { manifestPath: o.manifest, jwks });
  if (r.ok) {
    process.stdout.write(
      `OK: ${r.events} events in ${r.sessions} sessions; every hash and chain link checks out against the signed manifest\n`,
    );
    if (r.keyThumbprint && !jwks)
      process.stdout.write(`signed by key thumbprint ${r.keyThumbprint} (compare with: pgward audit key)\n`);
  } else {
    process.stdout.write(`BROKEN: ${r.problem}\n`);
  }
  return r.ok;
}

/** `pgward audit key`: the public key (JWKS) auditors pin for offline verification. */
export function auditKey(configPath: string | undefined): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    process.stdout.write(JSON.stringify(cp.keys.publicJwks(), null, 2) + '\n');
  });
}

export function auditRetention(configPath: string | undefined, olderThan: string): Promise<number> {
  return withControlPlane(configPath, async (cp) => {
    const cutoff = new Date(Date.now() - parseDuration(olderThan));
    const n = await applyRetention(new AuditQueries(cp.store), cutoff, `${userInfo().username}@${hostname()} (cli)`);
    process.stderr.write(
      `deleted ${n} events older than ${cutoff.toISOString()}; the deletion is recorded in admin_events\n`,
    );
    return n;
  });
}
