/**
 * The parse worker (a worker_threads thread of offthread-inspection.ts): classifies statement
 * texts too large to parse on the event loop, one at a time, and answers with what the
 * relay needs (a few hundred bytes), never the parse tree.
 */
import { parentPort } from 'node:worker_threads';
import { inspectText, type StatementInfo } from './classify.js';
import type { ParseAnswer, ParseJob } from './offthread-inspection.js';
import { readOnlyVerdict, type BlockReason } from './read-only-guard.js';
import { loadSqlParser } from './sql-parser.js';

/**
 * The audit keeps the normalized text; for a 10 MB VALUES list that is itself megabytes
 * ($1, $2, ... for every constant), so only its start is kept, saying how long it was.
 */
export const NORMALIZED_KEEP = 16 * 1024;

export function keepNormalized(normalized: string): string {
  if (normalized.length <= NORMALIZED_KEEP) return normalized;
  return `${normalized.slice(0, NORMALIZED_KEEP)} ... (normalized text of ${normalized.length} characters, cut)`;
}

// The upstream's major version is passed on where the detector takes it (per-version grammar).
const inspect = inspectText as (sql: string, major?: number) => StatementInfo;
const readOnly = readOnlyVerdict as (sql: string, major?: number) => BlockReason | null;

function answer(job: ParseJob): ParseAnswer {
  const started = performance.now();
  try {
    const info = inspect(job.sql, job.major);
    const verdict = job.readOnly ? readOnly(job.sql, job.major) : null;
    return {
      id: job.id,
      info: { ...info, normalized: keepNormalized(info.normalized) },
      verdict,
      ms: performance.now() - started,
    };
  } catch (err) {
    // inspectText and readOnlyVerdict catch parse errors themselves: this is the parser failing.
    return { id: job.id, error: err instanceof Error ? err.message : String(err), ms: performance.now() - started };
  }
}

const port = parentPort;
if (port) {
  await loadSqlParser();
  // Jobs posted while the parser loaded waited in the port: it starts with this listener.
  port.on('message', (job: ParseJob) => port.postMessage(answer(job)));
}
