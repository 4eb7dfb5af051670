import type { ChainedEvent } from './chain.js';

/**
 * The wire form of an audit batch: one JSON array of {i, s, a, k, u, p, h0, h, m, x} objects,
 * sent to the store as a single parameter (no per-element escaping, one parse in Postgres)
 * and kept one batch per line in the spool.
 */

/** What the store keeps of one event besides its chain fields. */
export interface StoredForm {
  /** The payload as the store's jsonb can hold it (storableJson). */
  payloadJson: string;
  /** The username as a text column can hold it (storableText). */
  username: string | null;
  /** Hex HMAC of the event's hash (keys.ts eventMac), or null from a writer without the audit key. */
  mac: string | null;
  /** The hashed body exactly (chain.ts eventBody), only when the payload or username had to be changed to be stored. */
  exactBody: string | null;
}

/** One event as an element of a batch document. */
export function eventElement(e: ChainedEvent, f: StoredForm): string {
  return `{"i":${JSON.stringify(e.session_id)},"s":${e.seq},"a":${JSON.stringify(e.at)},"k":${JSON.stringify(e.kind)},"u":${JSON.stringify(f.username)},"p":${f.payloadJson},"h0":"${e.prev_hash}","h":"${e.hash}"${f.mac ? `,"m":"${f.mac}"` : ''}${f.exactBody !== null ? `,"x":${JSON.stringify(f.exactBody)}` : ''}}`;
}

export function batchDocument(elements: readonly string[]): string {
  return `[${elements.join(',')}]`;
}

/**
 * The elements of a batch document, as the exact text they were written with (so hashes
 * and numbers are untouched), or null when the document is damaged (a spool line cut short
 * by a crash mid-write).
 */
export function batchElements(doc: string): string[] | null {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < doc.length; i++) {
    const c = doc.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 2 && c === 0x7b) start = i;
      if (depth === 1 && c !== 0x5b) return null;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === 2 && c === 0x7d) out.push(doc.slice(start, i + 1));
      depth--;
      if (depth < 0) return null;
    }
  }
  return depth === 0 && !inString && doc.trimEnd().endsWith(']') ? out : null;
}

/** Splits elements, in order, into runs of at most maxEvents and (unless one element alone is larger) maxChars. */
export function boundedRuns(elements: readonly string[], maxEvents: number, maxChars: number): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let chars = 0;
  for (const el of elements) {
    if (run.length > 0 && (run.length >= maxEvents || chars + el.length > maxChars)) {
      runs.push(run);
      run = [];
      chars = 0;
    }
    run.push(el);
    chars += el.length + 1;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
