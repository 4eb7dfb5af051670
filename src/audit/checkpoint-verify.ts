import { createHash, createPublicKey, verify } from 'node:crypto';
import type { JWK } from 'jose';
import { CHECKPOINT_TYP, type CheckpointPayload } from './checkpoint.js';
import { jwkThumbprint } from './keys.js';

/** Which keys a signature must be made with to count as pinned. */
export interface Trust {
  /** Pinned keys (from `pgward audit key`). */
  jwks?: { keys: JWK[] } | undefined;
  /** Pinned RFC 7638 thumbprints. */
  thumbprints?: string[] | undefined;
}

export const pinsGiven = (t: Trust): boolean => Boolean(t.jwks || t.thumbprints?.length);

/** One session's chain head as one checkpoint saw it. */
export interface CheckpointPoint {
  session: string;
  user: string | null;
  seq: number;
  head: string;
  at: string;
  first_at: string;
  gateway: string;
  checkpoint: number;
  checkpointAt: string;
}

/** What a set of checkpoint logs says. */
export interface CheckpointSet {
  points: CheckpointPoint[];
  /** Events a gateway set aside (dead letter), by `session/seq`. */
  quarantined: Map<string, { gateway: string; code: string }>;
  /** Per gateway: its checkpoints' seqs (first, last), how many, and the gaps in what was given. */
  gateways: Map<string, { first: number; last: number; lines: number; gaps: number; at: string }>;
  /** Thumbprints of the keys that signed them. */
  thumbprints: Set<string>;
}

interface Decoded {
  line: string;
  payload: CheckpointPayload;
}

/**
 * Reads checkpoint logs (lines of signed JWS, from gateways' files or a webhook's collection):
 * every line's signature (with a pinned key when pins are given), and that consecutive lines
 * of a gateway's log link to each other. Returns the chain heads they saw, or the first
 * problem. Duplicate lines (the same log given twice) count once.
 */
export function readCheckpoints(texts: string[], trust: Trust): CheckpointSet | { problem: string } {
  const set: CheckpointSet = { points: [], quarantined: new Map(), gateways: new Map(), thumbprints: new Set() };
  const lines = [...new Set(texts.flatMap((t) => t.split('\n').map((l) => l.trim())).filter(Boolean))];
  const byGateway = new Map<string, Decoded[]>();
  for (const [i, line] of lines.entries()) {
    const checked = checkSignature(line, trust);
    if ('problem' in checked) return { problem: `checkpoint ${i + 1}: ${checked.problem}` };
    set.thumbprints.add(checked.thumbprint);
    const p = checked.payload;
    const list = byGateway.get(p.gateway) ?? [];
    list.push({ line, payload: p });
    byGateway.set(p.gateway, list);
  }
  for (const [gateway, list] of byGateway) {
    list.sort((a, b) => a.payload.seq - b.payload.seq);
    let gaps = 0;
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const cur = list[i]!;
      if (cur.payload.seq === prev.payload.seq)
        return { problem: `gateway ${gateway} has two different checkpoints numbered ${cur.payload.seq}` };
      if (cur.payload.seq !== prev.payload.seq + 1) {
        gaps++;
        continue;
      }
      if (cur.payload.prev !== createHash('sha256').update(prev.line).digest('hex'))
        return {
          problem: `checkpoint ${cur.payload.seq} of gateway ${gateway} does not follow checkpoint ${prev.payload.seq}: the log was changed`,
        };
    }
    for (const { payload: p } of list) {
      for (const s of p.sessions)
        set.points.push({
          session: s.id,
          user: s.user,
          seq: s.seq,
          head: s.head,
          at: s.at,
          first_at: s.first_at,
          gateway,
          checkpoint: p.seq,
          checkpointAt: p.at,
        });
      for (const q of p.quarantined) set.quarantined.set(`${q.session}/${q.seq}`, { gateway, code: q.code });
    }
    set.gateways.set(gateway, {
      first: list[0]!.payload.seq,
      last: list.at(-1)!.payload.seq,
      lines: list.length,
      gaps,
      at: list.at(-1)!.payload.at,
    });
  }
  return set;
}

/** One line's signature: with a pinned key when pins are given, else with the key in its header. */
function checkSignature(
  line: string,
  trust: Trust,
): { payload: CheckpointPayload; thumbprint: string } | { problem: string } {
  const [h, p, s] = line.split('.');
  if (!h || !p || !s) return { problem: 'not a signed checkpoint' };
  let header: { alg?: string; kid?: string; typ?: string; jwk?: { kty?: string; crv?: string; x?: string } };
  let payload: CheckpointPayload;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as CheckpointPayload;
  } catch {
    return { problem: 'not a signed checkpoint' };
  }
  if (header.alg !== 'EdDSA' || header.typ !== CHECKPOINT_TYP || payload.pgward_audit_checkpoint !== 1)
    return { problem: 'not a pgward audit checkpoint' };
  const embedded = header.jwk?.kty === 'OKP' && header.jwk.crv === 'Ed25519' ? header.jwk.x : undefined;
  let x: string | undefined = embedded;
  if (trust.jwks) {
    const pinned = trust.jwks.keys.find((k) => k.kid === header.kid && k.kty === 'OKP');
    if (!pinned?.x) return { problem: `signed by key ${header.kid ?? '?'}, which the given JWKS does not hold` };
    x = pinned.x;
  } else if (trust.thumbprints?.length) {
    if (!embedded || !trust.thumbprints.includes(jwkThumbprint(embedded)))
      return { problem: `signed by key ${embedded ? jwkThumbprint(embedded) : '?'}, which is not pinned` };
  }
  if (!x) return { problem: 'carries no key to check its signature with' };
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  if (!verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')))
    return { problem: 'its signature does not verify (changed after it was signed)' };
  return { payload, thumbprint: jwkThumbprint(x) };
}

/**
 * Compares an export with what checkpoints saw, event by event as the export is read: every
 * chain head a checkpoint saw inside the export's range must be in the export with the same
 * hash, and every session a checkpoint saw start inside the range must be there.
 */
export class CheckpointComparison {
  /** In-range heads by session, then seq. */
  private readonly heads = new Map<string, Map<number, CheckpointPoint>>();
  /** Sessions that started inside the range (first_at), with the latest point seen of each. */
  private readonly started = new Map<string, CheckpointPoint>();
  private readonly present = new Set<string>();
  /** Every session any checkpoint saw, in range or not. */
  private readonly known = new Set<string>();
  readonly sessions: number;

  constructor(
    private readonly set: CheckpointSet,
    range: { from: string; to: string; user: string | null },
  ) {
    const inRange = (t: string): boolean => t >= range.from && t < range.to;
    for (const p of set.points) {
      this.known.add(p.session);
      if (range.user !== null && p.user !== range.user) continue;
      if (inRange(p.at)) {
        const m = this.heads.get(p.session) ?? new Map<number, CheckpointPoint>();
        const seen = m.get(p.seq);
        if (seen && seen.head !== p.head)
          throw new Error(`checkpoints disagree about session ${p.session} seq ${p.seq}`);
        m.set(p.seq, p);
        this.heads.set(p.session, m);
      }
      if (inRange(p.first_at)) {
        const s = this.started.get(p.session);
        if (!s || s.seq < p.seq) this.started.set(p.session, p);
      }
    }
    this.sessions = new Set([...this.heads.keys(), ...this.started.keys()]).size;
  }

  /** An exported event: a problem when a checkpoint saw a different event at its place. */
  event(session: string, seq: number, hash: string): string | null {
    this.present.add(session);
    const p = this.heads.get(session)?.get(seq);
    if (!p || p.head === hash) return null;
    return `session ${session} seq ${seq} is not the event checkpoint ${p.checkpoint} of gateway ${p.gateway} saw (${p.checkpointAt}): the session was rewritten, at this event or before it, after it was recorded (hash ${hash.slice(0, 16)}…, signed ${p.head.slice(0, 16)}…)`;
  }

  /** A session's stretch ended in the export at lastSeq: a problem when a checkpoint saw it go further inside the range. */
  sessionEnd(session: string, lastSeq: number): string | null {
    const beyond = [...(this.heads.get(session)?.values() ?? [])].filter((p) => p.seq > lastSeq);
    if (beyond.length === 0) return null;
    const p = beyond.reduce((a, b) => (a.seq > b.seq ? a : b));
    return `session ${session} ends at seq ${lastSeq} in the export, but checkpoint ${p.checkpoint} of gateway ${p.gateway} saw it reach seq ${p.seq} at ${p.at}: events were deleted from its end (the log was truncated), unless they still wait in that gateway's spool`;
  }

  /** After the whole export: sessions a checkpoint saw in the range that the export does not hold. */
  missing(): string | null {
    const gone = new Map<string, CheckpointPoint>();
    for (const [session, m] of this.heads) if (!this.present.has(session)) gone.set(session, [...m.values()][0]!);
    for (const [session, p] of this.started) if (!this.present.has(session)) gone.set(session, p);
    if (gone.size === 0) return null;
    const [session, p] = [...gone][0]!;
    const more = gone.size > 1 ? ` (and ${gone.size - 1} more checkpointed session(s))` : '';
    return `session ${session} (user ${p.user ?? '?'}) is missing from the export, but checkpoint ${p.checkpoint} of gateway ${p.gateway} saw it at seq ${p.seq} (${p.at}): it was deleted from the store, unless it still waits in that gateway's spool${more}`;
  }

  /** Exported sessions no checkpoint saw: recorded after the latest checkpoint given, or by a gateway whose log was not given. */
  uncovered(): number {
    let n = 0;
    for (const s of this.present) if (!this.known.has(s)) n++;
    return n;
  }

  /** Why a gap at session/seq may be there: the gateway set it aside. */
  quarantined(session: string, seq: number): string | null {
    const q = this.set.quarantined.get(`${session}/${seq}`);
    return q
      ? ` (gateway ${q.gateway} set seq ${seq} aside: the store refused it with ${q.code}; it is in that gateway's dead-letter file)`
      : null;
  }
}
