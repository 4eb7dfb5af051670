import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, EmbeddedJWK, importJWK, type JWK } from 'jose';
import { eventHash } from './chain.js';
import type { Manifest } from './export.js';
import { csvOpen, EXPORT_FORMATS, ExportParseError, parseEvent } from './formats.js';

export interface VerifyResult {
  ok: boolean;
  events: number;
  sessions: number;
  /** SHA-256 thumbprint of the key that signed the manifest (compare with the gateway's). */
  keyThumbprint: string | null;
  /** The first problem, naming the event (line, session, seq) where there is one. */
  problem: string | null;
}

const fail = (r: Omit<VerifyResult, 'ok' | 'problem'>, problem: string): VerifyResult => ({ ...r, ok: false, problem });

/**
 * Checks an export offline against its signed manifest: the signature (with the embedded
 * key, or a pinned JWKS), the file digest, and every event's hash and place in its chain.
 * Stops at the first broken event and names it.
 */
export async function verifyExport(
  path: string,
  opts: { manifestPath?: string; jwks?: { keys: JWK[] } } = {},
): Promise<VerifyResult> {
  const base = { events: 0, sessions: 0, keyThumbprint: null as string | null };
  let jws: string;
  try {
    jws = (await readFile(opts.manifestPath ?? `${path}.manifest.jws`, 'utf8')).trim();
  } catch {
    return fail(base, 'the signed manifest is missing');
  }
  let manifest: Manifest;
  try {
    const header = decodeProtectedHeader(jws);
    const pinned = opts.jwks?.keys.find((k) => k.kid === header.kid);
    if (opts.jwks && !pinned)
      return fail(base, `the manifest is signed by key ${header.kid ?? '?'}, which the given JWKS does not hold`);
    const { payload } = pinned
      ? await compactVerify(jws, await importJWK(pinned, 'ES256'))
      : await compactVerify(jws, EmbeddedJWK);
    base.keyThumbprint = header.jwk ? await calculateJwkThumbprint(header.jwk as JWK) : null;
    manifest = JSON.parse(new TextDecoder().decode(payload)) as Manifest;
  } catch (err) {
    return fail(base, `the manifest signature does not verify (${(err as Error).message})`);
  }
  if (!EXPORT_FORMATS.includes(manifest.format)) return fail(base, `unknown export format ${String(manifest.format)}`);
  const expected = new Map(manifest.sessions.map((s) => [s.id, s]));
  const digest = createHash('sha256');
  const seen = new Set<string>();
  let session: string | null = null;
  let lastSeq = 0;
  let lastHash = '';
  let lineNo = 0;
  let pending = '';
  let headerSkipped = manifest.format !== 'csv';
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const closeSession = (): string | null => {
    if (session === null) return null;
    const m = expected.get(session)!;
    if (lastSeq !== m.last_seq || lastHash !== m.last_hash) {
      return `session ${session} ends at seq ${lastSeq}, but the manifest says ${m.last_seq}: events were removed from its end`;
    }
    return null;
  };
  for await (const line of lines) {
    lineNo++;
    digest.update(line + '\n');
    if (!headerSkipped) {
      headerSkipped = true;
      continue;
    }
    // A CSV field may hold a newline inside quotes: join until the record is whole.
    const record = pending ? `${pending}\n${line}` : line;
    if (manifest.format === 'csv' && csvOpen(record)) {
      pending = record;
      continue;
    }
    pending = '';
    if (record === '') continue;
    let e;
    try {
      e = parseEvent(manifest.format, record);
    } catch (err) {
      return fail(base, `line ${lineNo}: ${err instanceof ExportParseError ? err.message : String(err)}`);
    }
    const where = `line ${lineNo} (session ${e.session_id}, seq ${e.seq})`;
    if (e.session_id !== session) {
      const ended = closeSession();
      if (ended) return fail(base, ended);
      const m = expected.get(e.session_id);
      if (!m) return fail(base, `${where}: a session the manifest does not list`);
      if (seen.has(e.session_id)) return fail(base, `${where}: the session's events are out of order`);
      if (e.seq !== m.first_seq || e.prev_hash !== m.first_prev_hash) {
        return fail(base, `${where}: the session should start at seq ${m.first_seq}: events were removed or reordered`);
      }
      seen.add(e.session_id);
      session = e.session_id;
      base.sessions++;
    } else {
      if (e.seq !== lastSeq + 1)
        return fail(base, `${where}: expected seq ${lastSeq + 1}: events were removed or reordered`);
      if (e.prev_hash !== lastHash) return fail(base, `${where}: does not follow the event before it in the chain`);
    }
    const { hash, ...rest } = e;
    if (eventHash(rest) !== hash)
      return fail(base, `${where}: the event was changed (its hash does not match its content)`);
    lastSeq = e.seq;
    lastHash = hash;
    base.events++;
  }
  const ended = closeSession();
  if (ended) return fail(base, ended);
  for (const id of expected.keys()) if (!seen.has(id)) return fail(base, `session ${id} is missing from the export`);
  if (base.events !== manifest.events)
    return fail(base, `the export holds ${base.events} events, the manifest ${manifest.events}`);
  if (digest.digest('hex') !== manifest.sha256)
    return fail(base, 'the file differs from the one the manifest was signed for');
  return { ...base, ok: true, problem: null };
}
