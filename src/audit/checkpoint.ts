import { createHash } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../util/logger.js';
import type { ChainedEvent } from './chain.js';
import type { Quarantined } from './delivery.js';
import { signJws, type AuditKeys } from './keys.js';

/** The JWS `typ` of a checkpoint. */
export const CHECKPOINT_TYP = 'pgward-audit-checkpoint+jws';

/** How often a gateway signs a checkpoint when something was recorded since the last one. */
export const CHECKPOINT_INTERVAL_MS = 60_000;

/** The checkpoint log next to a gateway's spool, unless configured elsewhere. */
export function defaultCheckpointFile(spoolDir: string): string {
  return join(spoolDir, 'audit-checkpoints.jsonl');
}

/** One session's chain as a checkpoint saw it. */
export interface CheckpointSession {
  id: string;
  user: string | null;
  /** When its first event was recorded (ISO). */
  first_at: string;
  /** Events in its chain so far: its last seq. */
  seq: number;
  /** Hash of that event (hex). */
  head: string;
  /** When that event was recorded (ISO). */
  at: string;
  ended: boolean;
}

/**
 * What a checkpoint signs. Each lists the sessions whose chains grew since the checkpoint
 * before it in the same log (one file per gateway), so the log as a whole holds every chain
 * head the gateway has seen, taken from the gateway's own memory, never from the store.
 */
export interface CheckpointPayload {
  pgward_audit_checkpoint: 1;
  gateway: string;
  /** 1, 2, 3, ... within this log. */
  seq: number;
  at: string;
  /** SHA-256 (hex) of the previous line of the log, so a removed or changed line shows. */
  prev: string | null;
  /** Since when this log's gateway has written a MAC with every event. */
  keyed_since: string;
  /** Sessions and events this gateway has chained since the log began. */
  totals: { sessions: number; events: number };
  sessions: CheckpointSession[];
  /** Events the store refused and the gateway set aside in its dead-letter file since the previous checkpoint. */
  quarantined: Array<{ session: string; seq: number; code: string }>;
}

export interface CheckpointOptions {
  gatewayId: string;
  /** The checkpoint log (one JWS per line, fsynced); null keeps none on disk. */
  file: string | null;
  /** Each checkpoint is also POSTed here as JSON {gateway, seq, checkpoint}; null: nowhere. */
  webhook: string | null;
  intervalMs: number;
}

const WEBHOOK_TIMEOUT_MS = 5_000;
const WEBHOOK_ATTEMPTS = 3;

/**
 * Signs, every intervalMs, a checkpoint of the chains the gateway's writer grew (heads,
 * lengths, totals) with the audit checkpoint key, appends it to the checkpoint log and POSTs
 * it to the webhook. Someone who can write only to the store can then rewrite, delete or
 * truncate nothing that a checkpoint saw without `audit verify` showing it.
 */
export class Checkpointer {
  /** Sessions grown since the last checkpoint. */
  private dirty = new Map<string, CheckpointSession>();
  /** Sessions not ended: what a later checkpoint repeats about them (user, first event). */
  private live = new Map<string, { user: string | null; first_at: string }>();
  private quarantined: CheckpointPayload['quarantined'] = [];
  private seq = 0;
  private prev: string | null = null;
  private keyedSince = new Date().toISOString();
  private totals = { sessions: 0, events: 0 };
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void>;
  private webhookLine: Promise<void> = Promise.resolve();

  constructor(
    private readonly keys: AuditKeys,
    private readonly o: CheckpointOptions,
    private readonly log: Logger,
  ) {
    this.chain = this.resume().catch((err: unknown) =>
      log.error(
        { event: 'audit_checkpoint_failed', file: o.file, err: (err as Error).message },
        'the checkpoint log could not be read; a new one is started after it',
      ),
    );
    this.timer = setInterval(() => void this.take(), o.intervalMs);
    this.timer.unref();
  }

  /** An event appended to a chain (on the writer's path: updates one entry in place). */
  seen(e: ChainedEvent): void {
    this.totals.events++;
    const d = this.dirty.get(e.session_id);
    if (d) {
      d.seq = e.seq;
      d.head = e.hash;
      d.at = e.at;
      return;
    }
    let live = this.live.get(e.session_id);
    if (!live) {
      live = { user: e.username, first_at: e.at };
      this.live.set(e.session_id, live);
      if (e.seq === 1) this.totals.sessions++;
    }
    this.dirty.set(e.session_id, {
      id: e.session_id,
      user: live.user,
      first_at: live.first_at,
      seq: e.seq,
      head: e.hash,
      at: e.at,
      ended: false,
    });
  }

  /** A chain closed (its session ended). */
  ended(sessionId: string): void {
    const d = this.dirty.get(sessionId);
    if (d) d.ended = true;
    this.live.delete(sessionId);
  }

  noteQuarantined(q: Quarantined): void {
    for (const e of q.events) this.quarantined.push({ session: e.session, seq: e.seq, code: q.code });
  }

  /** Signs and keeps a checkpoint now, if anything was recorded since the last one. */
  take(): Promise<void> {
    this.chain = this.chain.then(() => this.write()).catch((err: unknown) => this.failed(err));
    return this.chain;
  }

  /** The last checkpoint (what is recorded so far), then no more. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.take();
    await this.webhookLine;
  }

  private async write(): Promise<void> {
    if (this.dirty.size === 0 && this.quarantined.length === 0) return;
    const payload: CheckpointPayload = {
      pgward_audit_checkpoint: 1,
      gateway: this.o.gatewayId,
      seq: this.seq + 1,
      at: new Date().toISOString(),
      prev: this.prev,
      keyed_since: this.keyedSince,
      totals: { ...this.totals },
      sessions: [...this.dirty.values()],
      quarantined: this.quarantined,
    };
    const jws = signJws(this.keys, CHECKPOINT_TYP, payload);
    if (this.o.file) {
      await mkdir(dirname(this.o.file), { recursive: true, mode: 0o700 });
      const fh = await open(this.o.file, 'a', 0o600);
      try {
        await fh.write(jws + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // Only once kept: a checkpoint that failed to be written is taken again, whole, next time.
    this.seq = payload.seq;
    this.prev = createHash('sha256').update(jws).digest('hex');
    this.dirty = new Map();
    this.quarantined = [];
    this.log.info(
      { event: 'audit_checkpoint', seq: payload.seq, sessions: payload.sessions.length, file: this.o.file },
      'audit checkpoint signed',
    );
    if (this.o.webhook) this.post(this.o.webhook, payload.seq, jws);
  }

  private failed(err: unknown): void {
    this.log.error(
      { event: 'audit_checkpoint_failed', file: this.o.file, err: (err as Error).message },
      'audit checkpoint not written; it is tried again at the next interval',
    );
  }

  /** POSTs a checkpoint (in order, after the ones before it), with a few retries. */
  private post(url: string, seq: number, jws: string): void {
    this.webhookLine = this.webhookLine.then(async () => {
      let last = '';
      for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ gateway: this.o.gatewayId, seq, checkpoint: jws }),
            signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          });
          if (res.ok) return;
          last = `HTTP ${res.status}`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (attempt < WEBHOOK_ATTEMPTS) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
      this.log.error(
        { event: 'audit_checkpoint_webhook_failed', seq, err: last },
        'audit checkpoint not delivered to the webhook (it is in the checkpoint log)',
      );
    });
  }

  /** Continues the log where it ends (seq, previous line, totals, keyed since), so one file is one chain. */
  private async resume(): Promise<void> {
    if (!this.o.file) return;
    const last = await lastLine(this.o.file);
    if (!last) return;
    const p = decodePayload(last);
    if (!p) throw new Error('its last line is not a checkpoint');
    this.seq = p.seq;
    this.prev = createHash('sha256').update(last).digest('hex');
    this.keyedSince = p.keyed_since;
    // Events appended while the log was being read count on top of the log's totals.
    this.totals = { sessions: p.totals.sessions + this.totals.sessions, events: p.totals.events + this.totals.events };
  }
}

/** A checkpoint's payload, unverified (for resuming a log; verification is checkpoint-verify.ts). */
export function decodePayload(jws: string): CheckpointPayload | null {
  try {
    const p = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as CheckpointPayload;
    return p && p.pgward_audit_checkpoint === 1 ? p : null;
  } catch {
    return null;
  }
}

/** The last non-empty line of a file, reading only its end; null when there is none. */
async function lastLine(file: string): Promise<string | null> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return null;
  }
  const fh = await open(file, 'r');
  try {
    for (let window = 64 * 1024; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const text = buf.toString('utf8').trimEnd();
      const nl = text.lastIndexOf('\n');
      if (nl >= 0 || start === 0) return text.slice(nl + 1) || null;
    }
  } finally {
    await fh.close();
  }
}
