import { isIdentChar } from './sql-chars.js';

/**
 * With standard_conforming_strings=off, Postgres reads a backslash inside a plain '...'
 * literal as an escape, exactly as inside E'...'. The inspector's parser always runs with
 * the setting on, so text like `select 'a\''; drop table t; --'` would look like one
 * harmless SELECT to it while the server runs the DROP. Marking every plain literal that
 * holds a backslash as an E'' literal gives text that parses, with the setting on, into
 * the statements the server will run. Only the lexer's view changes; nothing is sent.
 */
export function asStandardConforming(sql: string): string {
  if (!sql.includes('\\')) return sql;
  let out = '';
  let copied = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const cr = sql.indexOf('\r', i);
      const eol = nl < 0 ? cr : cr < 0 ? nl : Math.min(nl, cr);
      if (eol < 0) break;
      i = eol;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
      continue;
    }
    if (c === '"') {
      i = skipDoubled(sql, i + 1, '"');
      continue;
    }
    if (c === '$' && !isIdentChar(sql[i - 1])) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
        continue;
      }
    }
    if (c !== "'") {
      i++;
      continue;
    }
    const prefix = isIdentChar(sql[i - 2]) ? '' : (sql[i - 1] ?? '').toLowerCase();
    if (prefix === 'e') {
      i = skipLiteral(sql, i + 1, true).end;
    } else if (
      prefix === 'b' ||
      prefix === 'x' ||
      (prefix === '&' && /[uU]/.test(sql[i - 2] ?? '') && !isIdentChar(sql[i - 3]))
    ) {
      i = skipLiteral(sql, i + 1, false).end;
    } else {
      const { end, backslash } = skipLiteral(sql, i + 1, true);
      if (backslash) {
        // N'...' (national character) takes the same escapes; its N becomes the E.
        // After an identifier (a typed literal such as date '...') the E must not join it.
        const glued = prefix !== 'n' && isIdentChar(sql[i - 1]);
        out += sql.slice(copied, prefix === 'n' ? i - 1 : i) + (glued ? ' E' : 'E');
        copied = i;
      }
      i = end;
    }
  }
  return out + sql.slice(copied);
}

function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return i;
}

function skipDoubled(sql: string, start: number, quote: string): number {
  let i = start;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}

/** Whitespace holding a newline (comments allowed after it), then a quote: one literal goes on. */
const CONTINUATION = /[ \t\f]*(?:\r\n|\n|\r)(?:\s|--[^\n\r]*)*'/y;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/**
 * The end of a quoted literal whose opening quote is just before start, following it across
 * continuation lines; with escapes, a backslash takes the next character.
 */
function skipLiteral(sql: string, start: number, escapes: boolean): { end: number; backslash: boolean } {
  let backslash = false;
  let i = start;
  for (;;) {
    if (i >= sql.length) return { end: i, backslash };
    const c = sql[i];
    if (escapes && c === '\\') {
      backslash = true;
      i += 2;
    } else if (c === "'") {
      if (sql[i + 1] === "'") {
        i += 2;
        continue;
      }
      CONTINUATION.lastIndex = i + 1;
      const more = CONTINUATION.exec(sql);
      if (!more) return { end: i + 1, backslash };
      i = CONTINUATION.lastIndex;
    } else i++;
  }
}
