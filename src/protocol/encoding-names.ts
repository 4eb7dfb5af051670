/**
 * Postgres's encoding names and aliases (src/common/encnames.c): a client may spell an
 * encoding any of these ways, in any case, with any punctuation, and the server resolves
 * it to one encoding. Anything that refuses encodings must refuse what they resolve to.
 */
const ALIASES: Record<string, string> = {
  abc: 'WIN1258',
  alt: 'WIN866',
  big5: 'BIG5',
  euccn: 'EUC_CN',
  eucjis2004: 'EUC_JIS_2004',
  eucjp: 'EUC_JP',
  euckr: 'EUC_KR',
  euctw: 'EUC_TW',
  gb18030: 'GB18030',
  gbk: 'GBK',
  iso88591: 'LATIN1',
  iso885910: 'LATIN6',
  iso885913: 'LATIN7',
  iso885914: 'LATIN8',
  iso885915: 'LATIN9',
  iso885916: 'LATIN10',
  iso88592: 'LATIN2',
  iso88593: 'LATIN3',
  iso88594: 'LATIN4',
  iso88595: 'ISO_8859_5',
  iso88596: 'ISO_8859_6',
  iso88597: 'ISO_8859_7',
  iso88598: 'ISO_8859_8',
  iso88599: 'LATIN5',
  johab: 'JOHAB',
  koi8: 'KOI8R',
  koi8r: 'KOI8R',
  koi8u: 'KOI8U',
  latin1: 'LATIN1',
  latin10: 'LATIN10',
  latin2: 'LATIN2',
  latin3: 'LATIN3',
  latin4: 'LATIN4',
  latin5: 'LATIN5',
  latin6: 'LATIN6',
  latin7: 'LATIN7',
  latin8: 'LATIN8',
  latin9: 'LATIN9',
  mskanji: 'SJIS',
  muleinternal: 'MULE_INTERNAL',
  shiftjis: 'SJIS',
  shiftjis2004: 'SHIFT_JIS_2004',
  sjis: 'SJIS',
  sqlascii: 'SQL_ASCII',
  tcvn: 'WIN1258',
  tcvn5712: 'WIN1258',
  uhc: 'UHC',
  unicode: 'UTF8',
  utf8: 'UTF8',
  vscii: 'WIN1258',
  win: 'WIN1251',
  win866: 'WIN866',
  win874: 'WIN874',
  win932: 'SJIS',
  win936: 'GBK',
  win949: 'UHC',
  win950: 'BIG5',
  windows866: 'WIN866',
  windows874: 'WIN874',
  windows932: 'SJIS',
  windows936: 'GBK',
  windows949: 'UHC',
  windows950: 'BIG5',
};
for (let n = 1250; n <= 1258; n++) {
  ALIASES[`win${n}`] = `WIN${n}`;
  ALIASES[`windows${n}`] = `WIN${n}`;
}

/** Postgres keeps only ASCII letters and digits of a name, lower-cased (clean_encoding_name). */
function cleanName(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
}

/** The encoding Postgres resolves a client's spelling to (as ParameterStatus names it), or null if none. */
export function resolveEncoding(name: string): string | null {
  // Names of NAMEDATALEN (64) bytes or more are never in the table.
  if (name.length === 0 || Buffer.byteLength(name) >= 64) return null;
  return ALIASES[cleanName(name)] ?? null;
}

/**
 * Client-only encodings whose second byte of a character may be an ASCII byte (0x5C, the
 * backslash, among them): the client's lexer and the server's disagree about quotes.
 */
export const CONFUSABLE_ENCODINGS: ReadonlySet<string> = new Set([
  'SJIS',
  'SHIFT_JIS_2004',
  'BIG5',
  'GBK',
  'UHC',
  'GB18030',
  'JOHAB',
]);
