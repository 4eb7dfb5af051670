import { isIdentChar as isIdent } from './sql-chars.js';

/**
 * A cheap shape key for statement text: plain string and number literals become `?`.
 * Texts with the same key differ only in those literals, so they classify alike. Anything
 * this scanner is not sure about (comments, dollar quoting, escape strings, parameters,
 * prefixed literals) gets no key, and the caller falls back to Postgres's parser.
 */
export function literalKey(sql: string): string | null {
  // Runs of text between literals are copied as slices: one string per literal, not per character.
  let out = '';
  let copied = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'") {
      if (isIdent(sql[i - 1])) return null; // E'', B'', X'', U&'' and friends
      let j = i + 1;
      for (;;) {
        if (j >= n) return null;
        const d = sql[j]!;
        if (d === '\\') return null;
        if (d === "'") {
          if (sql[j + 1] === "'") {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += sql.slice(copied, i) + '?';
      i = copied = j + 1;
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      if (end < 0) return null;
      i = end + 1;
    } else if (c >= '0' && c <= '9' && !isIdent(sql[i - 1]) && sql[i - 1] !== '.') {
      let j = i;
      while (j < n && sql[j]! >= '0' && sql[j]! <= '9') j++;
      if (sql[j] === '.') {
        j++;
        while (j < n && sql[j]! >= '0' && sql[j]! <= '9') j++;
      }
      if (isIdent(sql[j]) || sql[j] === '.') return null; // 1e5, 0x1F, 1.2.3: leave to the parser
      out += sql.slice(copied, i) + '?';
      i = copied = j;
    } else if (c === '$' || c === '\\' || (c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) {
      return null;
    } else {
      i++;
    }
  }
  return out + sql.slice(copied);
}
