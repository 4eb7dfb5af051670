import { asStandardConforming } from '../../src/detect/escape-strings.js';
import { ClientText } from '../../src/protocol/client-text.js';
import { invariant } from '../support.js';

/** Encodings a session may switch to, and the ones without a decoder. */
const ENCODINGS = [
  'UTF8',
  'SJIS',
  'BIG5',
  'GBK',
  'UHC',
  'GB18030',
  'EUC_JP',
  'LATIN1',
  'LATIN10',
  'KOI8R',
  'WIN1251',
  'EUC_TW',
  'JOHAB',
  'SHIFT_JIS_2004',
  'SQL_ASCII',
];

/**
 * How the relay reads a statement (BAD_INPUTS G15): bytes decoded in the session's
 * client_encoding, then, with standard_conforming_strings off, plain literals holding a
 * backslash marked as E''. Input: byte 0 picks the encoding, then the statement's bytes.
 * Nothing here may throw; the rewrite may only add E markers (or turn an N prefix into
 * one), must leave backslash-free text alone, and must be idempotent.
 */
export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const text = new ClientText();
  text.setEncoding(ENCODINGS[data[0]! % ENCODINGS.length]!);
  const sql = text.decode(data, 1, data.length);
  invariant(sql === null || typeof sql === 'string', 'decode returns text or null');
  if (sql === null) return;
  const lexed = asStandardConforming(sql);
  if (!sql.includes('\\')) invariant(lexed === sql, 'text without a backslash changed');
  invariant(asStandardConforming(lexed) === lexed, 'rewrite not idempotent');
  onlyMarkersAdded(sql, lexed);
}

function onlyMarkersAdded(before: string, after: string): void {
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (before[i] === after[j]) {
      i++;
      j++;
    } else if (after[j] === 'E' && after[j + 1] === "'") {
      // An inserted E, or an N prefix turned into one.
      if ((before[i] === 'N' || before[i] === 'n') && before[i + 1] === "'") i++;
      j++;
    } else if (after[j] === ' ' && after[j + 1] === 'E' && after[j + 2] === "'") {
      j += 2;
    } else {
      invariant(false, `rewrite changed more than literal markers at ${i}`);
    }
  }
}
