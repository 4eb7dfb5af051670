import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, EmbeddedJWK, importJWK, type JWK } from 'jose';
import { eventHash } from './chain.js';
import { CheckpointComparison, pinsGiven, readCheckpoints, type Trust } from './checkpoint-verify.js';
import type { Manifest } from './export.js';
import { csvOpen, EXPORT_FORMATS, ExportParseError, parseRecord } from './formats.js';

export type { Trust } from './checkpoint-verify.js';

export interface VerifyResult {
  ok: boolean;
  events: number;
  sessions: number;
  /** SHA-256 thumbprint of the key that signed the manifest (compare with the gateway's). */
  keyThumbprint: string | null;
  /** Thumbprints of the keys that signed the checkpoints checked. */
  checkpointThumbprints: string[];
  /** True when every signature checked was made with a pinned key (--jwks or --pin); false when taken on first use. */
  pinned: boolean;
  /** What was checked beyond the export itself, one line each (MACs, checkpoints), for the report. */
  notes: string[];
  /** The first problem, naming the event (line, session, seq) where there is one. */
  problem: string | null;
}

export interface VerifyOptions extends Trust {
  manifestPath?: string | undefined;
  /** Checkpoint logs besides the one the export carries (other gateways', a webhook's collection). */
  checkpoints?: string[] | undefined;
}

type Progress = Omit<VerifyResult, 'ok' | 'problem'>;
const fail = (r: Progress, problem: string): VerifyResult => ({ ...r, ok: false, problem });

/**
 * Checks an export offline against its signed manifest: the signature (with a pinned key,
 * else the embedded one, which the caller must then refuse or take on first use), the file
 * digest, every event's hash and place in its chain, what the export found checking MACs,
 * and the checkpoints the export carries (or that are given): a session rewritten,
 * deleted or cut short after a checkpoint saw it fails. Stops at the first problem and names it.
 */
export async function verifyExport(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const base: Progress = {
    events: 0,
    sessions: 0,
    keyThumbprint: null,
    checkpointThumbprints: [],
    pinned: false,
    notes: [],
  };
  let jws: string;
  try {
    jws = (await readFile(opts.manifestPath ?? `${path}.manifest.jws`, 'utf8')).trim();
  } catch {
    return fail(base, 'the signed manifest is missing');
  }
  let manifest: Manifest;
  try {
    const header = decodeProtectedHeader(jws);
    base.keyThumbprint = header.jwk ? await calculateJwkThumbprint(header.jwk as JWK) : null;
    const pinned = opts.jwks?.keys.find((k) => k.kid === header.kid);
    if (opts.jwks && !pinned)
      return fail(base, `the manifest is signed by key ${header.kid ?? '?'}, which the given JWKS does not hold`);
    if (!opts.jwks && opts.thumbprints?.length && !opts.thumbprints.includes(base.keyThumbprint ?? ''))
      return fail(base, `the manifest is signed by key thumbprint ${base.keyThumbprint ?? '?'}, which is not pinned`);
    const { payload } = pinned
      ? await compactVerify(jws, await importJWK(pinned, 'ES256'))
      : await compactVerify(jws, EmbeddedJWK);
    manifest = JSON.parse(new TextDecoder().decode(payload)) as Manifest;
  } catch (err) {
    return fail(base, `the manifest signature does not verify (${(err as Error).message})`);
  }
  base.pinned = pinsGiven(opts);
  if (!EXPORT_FORMATS.includes(manifest.format)) return fail(base, `unknown export format ${String(manifest.format)}`);

  const macProblem = checkMacs(manifest, base);
  if (macProblem) return fail(base, macProblem);
  const compared = await checkpointsFor(path, manifest, opts, base);
  if (typeof compared === 'string') return fail(base, compared);

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
  const sides = new SideCheck(manifest);
  const closeSession = (): string | null => {
    if (session === null) return null;
    const m = expected.get(session)!;
    if (lastSeq !== m.last_seq || lastHash !== m.last_hash) {
      return `session ${session} ends at seq ${lastSeq}, but the manifest says ${m.last_seq}: events were removed from its end`;
    }
    return compared?.sessionEnd(session, lastSeq) ?? null;
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
    let parsed;
    try {
      parsed = parseRecord(manifest.format, record);
    } catch (err) {
      return fail(base, `line ${lineNo}: ${err instanceof ExportParseError ? err.message : String(err)}`);
    }
    if ('side' in parsed) {
      const problem = sides.record(lineNo, parsed.side.record, parsed.side.id);
      if (problem) return fail(base, problem);
      continue;
    }
    const e = parsed.chained;
    if (sides.started)
      return fail(base, `line ${lineNo}: a chained event after the logins and admin actions: the export was reordered`);
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
        return fail(
          base,
          `${where}: expected seq ${lastSeq + 1}: events were removed or reordered${compared?.quarantined(e.session_id, lastSeq + 1) ?? ''}`,
        );
      if (e.prev_hash !== lastHash) return fail(base, `${where}: does not follow the event before it in the chain`);
    }
    const { hash, ...rest } = e;
    if (eventHash(rest) !== hash)
      return fail(base, `${where}: the event was changed (its hash does not match its content)`);
    const differs = compared?.event(e.session_id, e.seq, hash);
    if (differs) return fail(base, `${where}: ${differs}`);
    lastSeq = e.seq;
    lastHash = hash;
    base.events++;
  }
  const ended = closeSession();
  if (ended) return fail(base, ended);
  for (const id of expected.keys()) if (!seen.has(id)) return fail(base, `session ${id} is missing from the export`);
  if (base.events !== manifest.events)
    return fail(base, `the export holds ${base.events} events, the manifest ${manifest.events}`);
  const sideProblem = sides.end();
  if (sideProblem) return fail(base, sideProblem);
  if (digest.digest('hex') !== manifest.sha256)
    return fail(base, 'the file differs from the one the manifest was signed for');
  const gone = compared?.missing();
  if (gone) return fail(base, gone);
  const uncovered = compared?.uncovered() ?? 0;
  if (uncovered > 0)
    base.notes.push(
      `${uncovered} exported session(s) are in no checkpoint given: recorded after the latest one, or by a gateway whose checkpoint log was not given (--checkpoint); for them only the MACs speak`,
    );
  base.notes.push(...sides.notes());
  return { ...base, ok: true, problem: null };
}

const SIDE_NAMES = { auth_event: 'login', admin_event: 'admin action' } as const;

/**
 * Logins and admin actions: not chained in the store, so what is checked is that the export
 * holds exactly those the signed manifest counts, in id order, unchanged (the file digest).
 */
class SideCheck {
  started = false;
  private readonly seen = { auth_event: { n: 0, last: 0 }, admin_event: { n: 0, last: 0 } };
  private lastKind: 'auth_event' | 'admin_event' | null = null;

  constructor(private readonly manifest: Manifest) {}

  record(line: number, kind: 'auth_event' | 'admin_event', id: number): string | null {
    this.started = true;
    const m = kind === 'auth_event' ? this.manifest.auth_events : this.manifest.admin_events;
    if (!m) return `line ${line}: a ${SIDE_NAMES[kind]} (id ${id}), but the manifest says none were exported`;
    if (this.lastKind === 'admin_event' && kind === 'auth_event')
      return `line ${line}: a login after the admin actions: the export was reordered`;
    this.lastKind = kind;
    const s = this.seen[kind];
    if (id <= s.last) return `line ${line}: ${SIDE_NAMES[kind]} id ${id} after id ${s.last}: the export was reordered`;
    s.n++;
    s.last = id;
    return null;
  }

  end(): string | null {
    for (const kind of ['auth_event', 'admin_event'] as const) {
      const m = kind === 'auth_event' ? this.manifest.auth_events : this.manifest.admin_events;
      const n = this.seen[kind].n;
      if ((m?.events ?? 0) !== n)
        return `the export holds ${n} ${SIDE_NAMES[kind]}s, the manifest ${m?.events ?? 0}: some were removed or added`;
    }
    return null;
  }

  notes(): string[] {
    const { auth_events: a, admin_events: d } = this.manifest;
    if (!a && !d) return [];
    return [
      `logins and admin actions: ${a ? `${a.events} login(s)` : 'logins not exported'}, ${d ? `${d.events} admin action(s)` : 'admin actions not exported'}, as exported (not hash-chained in the store: the signed manifest proves them unchanged since the export, not since they were recorded)`,
    ];
  }
}

/** What the export found checking MACs (signed in the manifest): any event without a valid one fails. */
function checkMacs(manifest: Manifest, base: Progress): string | null {
  const mac = manifest.mac;
  if (!mac) {
    base.notes.push('MACs: not checked (the export was made without the audit key)');
    return null;
  }
  const first = mac.first_problems[0];
  if (mac.problems > 0 && first) {
    const why =
      first.problem === 'no MAC'
        ? `carries no MAC, though events recorded since ${mac.keyed_since ?? '?'} must: it was written by something without the audit key (a writer of the store, or a gateway not given the key)`
        : 'has a MAC that does not match its content: it was rewritten by something without the audit key (a writer of the store)';
    const more = mac.problems > 1 ? ` (${mac.problems} events in all)` : '';
    return `session ${first.session} seq ${first.seq} (${first.at}) ${why}${more}`;
  }
  base.notes.push(
    `MACs: ${mac.valid} events keyed with audit key ${mac.kid}${mac.legacy ? `; ${mac.legacy} recorded before keyed chains began (${mac.keyed_since ?? '?'}) carry none` : ''}`,
  );
  return null;
}

/** The checkpoints the export carries plus those given, read and ready to compare; a string is a problem. */
async function checkpointsFor(
  path: string,
  manifest: Manifest,
  opts: VerifyOptions,
  base: Progress,
): Promise<CheckpointComparison | null | string> {
  const texts: string[] = [];
  if (manifest.checkpoints) {
    const file = join(dirname(path), manifest.checkpoints.file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return `the checkpoints the export carries (${manifest.checkpoints.file}) are missing`;
    }
    if (createHash('sha256').update(text).digest('hex') !== manifest.checkpoints.sha256)
      return `the checkpoints the export carries (${manifest.checkpoints.file}) differ from those the manifest was signed with`;
    texts.push(text);
  }
  for (const extra of opts.checkpoints ?? []) {
    try {
      texts.push(await readFile(extra, 'utf8'));
    } catch {
      return `checkpoint log ${extra} cannot be read`;
    }
  }
  if (texts.length === 0) {
    base.notes.push('checkpoints: none (a whole session deleted from the store cannot be detected without one)');
    return null;
  }
  const set = readCheckpoints(texts, opts);
  if ('problem' in set) return set.problem;
  base.checkpointThumbprints = [...set.thumbprints];
  let compared: CheckpointComparison;
  try {
    compared = new CheckpointComparison(set, { from: manifest.from, to: manifest.to, user: manifest.user });
  } catch (err) {
    return (err as Error).message;
  }
  const gateways = [...set.gateways].map(
    ([g, s]) => `${g} #${s.first}-#${s.last} (latest ${s.at}${s.gaps ? `, ${s.gaps} gap(s) in the log given` : ''})`,
  );
  base.notes.push(
    `checkpoints: ${compared.sessions} session(s) in range seen by ${set.gateways.size} gateway log(s): ${gateways.join('; ')}`,
  );
  return compared;
}
