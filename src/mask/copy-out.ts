import { maskRecognised, maskValue } from './maskers.js';
import type { ColumnMask, MaskContext } from './row-plan.js';

/**
 * COPY ... TO STDOUT in text or CSV format, masked line by line. Postgres sends each row
 * (and the CSV header) as one CopyData message, so a message is a whole row; only rows
 * with a masked or recognised value are rebuilt.
 */

export interface CopyOptions {
  format: 'text' | 'csv' | 'binary';
  delimiter: string;
  /** The text that stands for NULL. */
  nullString: string;
  quote: string;
  escape: string;
  header: boolean;
}

export function copyOptions(options: ReadonlyMap<string, string | true>): CopyOptions {
  const get = (k: string): string | undefined => {
    const v = options.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const f = (get('format') ?? 'text').toLowerCase();
  const format = f === 'csv' ? 'csv' : f === 'binary' ? 'binary' : 'text';
  const csv = format === 'csv';
  const quote = get('quote') ?? '"';
  const h = options.get('header');
  return {
    format,
    delimiter: get('delimiter') ?? (csv ? ',' : '\t'),
    nullString: get('null') ?? (csv ? '' : '\\N'),
    quote,
    escape: get('escape') ?? quote,
    header: csv && (h === true || (typeof h === 'string' && /^(on|true|1|yes|match)$/i.test(h))),
  };
}

export interface CopyPlan {
  options: CopyOptions;
  masks: Array<ColumnMask | null>;
  /** Value recognisers run over every unmasked field. */
  scan: boolean;
  /** The header line is still to come (CSV HEADER): it is passed as it is. */
  headerPending: boolean;
}

const TEXT_ESCAPES: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', v: '\v' };

function unescapeText(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/gs, (_m, c: string) => TEXT_ESCAPES[c] ?? c);
}

function escapeText(s: string, delimiter: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t' && delimiter !== '\t') out += '\\t';
    else if (ch === delimiter) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

interface Field {
  /** The value (unescaped / unquoted), or null for the NULL marker. */
  value: string | null;
  raw: string;
}

function splitText(line: string, o: CopyOptions): Field[] {
  const fields: Field[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line[i] === o.delimiter) {
      const raw = line.slice(start, i);
      fields.push({ raw, value: raw === o.nullString ? null : unescapeText(raw) });
      start = i + 1;
    } else if (line[i] === '\\') i++;
  }
  return fields;
}

function splitCsv(line: string, o: CopyOptions): Field[] {
  const fields: Field[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let value = '';
    let quoted = false;
    while (i < line.length && line[i] !== o.delimiter) {
      if (line[i] === o.quote) {
        quoted = true;
        i++;
        while (i < line.length) {
          if (line[i] === o.escape && o.escape !== o.quote && line[i + 1] !== undefined) {
            value += line[i + 1];
            i += 2;
          } else if (line[i] === o.quote) {
            if (o.escape === o.quote && line[i + 1] === o.quote) {
              value += o.quote;
              i += 2;
            } else {
              i++;
              break;
            }
          } else value += line[i++];
        }
      } else value += line[i++];
    }
    const raw = line.slice(start, i);
    fields.push({ raw, value: !quoted && raw === o.nullString ? null : value });
    if (i >= line.length) return fields;
    i++; // the delimiter
  }
}

function quoteCsv(s: string, o: CopyOptions): string {
  const needs =
    s === o.nullString || s.includes(o.delimiter) || s.includes(o.quote) || /[\r\n]/.test(s) || s.includes(o.escape);
  if (!needs) return s;
  const doubled = s.split(o.quote).join(o.escape + o.quote);
  return o.quote + doubled + o.quote;
}

/** One CopyData body masked: the new body, or null when nothing in it changed. */
export function maskCopyRow(body: Buffer, plan: CopyPlan, ctx: MaskContext): Buffer | null {
  const o = plan.options;
  if (plan.headerPending) {
    plan.headerPending = false;
    return null;
  }
  let line = body.toString('utf8');
  const eol = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
  line = line.slice(0, line.length - eol.length);
  const csv = o.format === 'csv';
  const fields = csv ? splitCsv(line, o) : splitText(line, o);
  let changed = false;
  const out = fields.map((f, i) => {
    if (f.value === null) return f.raw;
    const mask = plan.masks[i] ?? null;
    let masked: string | null | undefined;
    if (mask) {
      masked = maskValue(f.value, mask.strategy, ctx.key);
      ctx.hits.set(mask.label, (ctx.hits.get(mask.label) ?? 0) + 1);
    } else if (plan.scan) {
      const m = maskRecognised(f.value, ctx.values, ctx.key, ctx.hits);
      if (m === null) return f.raw;
      masked = m;
    } else return f.raw;
    changed = true;
    if (masked === null) return o.nullString;
    return csv ? quoteCsv(masked, o) : escapeText(masked, o.delimiter);
  });
  if (!changed) return null;
  return Buffer.from(out.join(o.delimiter) + eol, 'utf8');
}
