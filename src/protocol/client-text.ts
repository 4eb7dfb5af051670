/**
 * Reads statement text in the session's client_encoding, as the server will. In the
 * client-only encodings (SJIS, BIG5, GBK, UHC, GB18030, JOHAB) the second byte of a
 * character may be an ASCII byte such as a backslash, so decoding such text as UTF-8 would
 * show the inspector other statements than the server runs.
 */

/** WHATWG labels for the multibyte encodings (Postgres's canonical names, as ParameterStatus spells them). */
const MULTIBYTE_LABELS: Record<string, string> = {
  SJIS: 'shift_jis',
  BIG5: 'big5',
  GBK: 'gbk',
  UHC: 'euc-kr', // WHATWG's euc-kr is windows-949, which is UHC
  GB18030: 'gb18030',
  EUC_JP: 'euc-jp',
  EUC_KR: 'euc-kr',
  EUC_CN: 'gbk',
};

/** Single-byte encodings: any reading keeps the structure; a decoder also gets names right. */
const SINGLE_BYTE_LABELS: Record<string, string> = {
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  LATIN1: 'windows-1252',
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN5: 'windows-1254',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  ISO_8859_5: 'iso-8859-5',
  ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7',
  ISO_8859_8: 'iso-8859-8',
};
for (let n = 1250; n <= 1258; n++) SINGLE_BYTE_LABELS[`WIN${n}`] = `windows-${n}`;

/**
 * Encodings with no WHATWG decoder whose multibyte characters use only bytes >= 0x80: a
 * byte-per-character reading keeps every quote, backslash and delimiter where it is.
 */
const HIGH_BIT_MULTIBYTE = new Set(['EUC_TW', 'EUC_JIS_2004', 'MULE_INTERNAL']);
const UTF8_NAMES = new Set(['UTF8', 'UNICODE', 'SQL_ASCII']);

type Reading =
  { kind: 'utf8' } | { kind: 'decoder'; decoder: TextDecoder } | { kind: 'bytes' } | { kind: 'ascii-only' };

function decoder(label: string, fatal: boolean): TextDecoder | null {
  try {
    return new TextDecoder(label, { fatal });
  } catch {
    return null; // not in this Node's ICU (iso-8859-16)
  }
}

function readingFor(encoding: string): Reading {
  const name = encoding.toUpperCase();
  if (UTF8_NAMES.has(name)) return { kind: 'utf8' };
  const multibyte = MULTIBYTE_LABELS[name];
  const strict = multibyte ? decoder(multibyte, true) : null;
  if (strict) return { kind: 'decoder', decoder: strict };
  const single = SINGLE_BYTE_LABELS[name];
  if (single) {
    const lenient = decoder(single, false);
    return lenient ? { kind: 'decoder', decoder: lenient } : { kind: 'bytes' };
  }
  if (HIGH_BIT_MULTIBYTE.has(name)) return { kind: 'bytes' };
  // JOHAB, SHIFT_JIS_2004 and anything unknown: only pure ASCII can be read with certainty.
  return { kind: 'ascii-only' };
}

function isAscii(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

export class ClientText {
  private reading: Reading = { kind: 'utf8' };
  private name = 'UTF8';

  /** The encoding from the latest ParameterStatus client_encoding. */
  get encoding(): string {
    return this.name;
  }

  setEncoding(encoding: string): void {
    if (encoding.toUpperCase() === this.name) return;
    this.name = encoding.toUpperCase();
    this.reading = readingFor(encoding);
  }

  /**
   * The text of bytes [start, end), or null when it cannot be read with certainty (bytes
   * invalid in the encoding, or non-ASCII in an encoding pgward cannot decode).
   */
  decode(bytes: Buffer, start: number, end: number): string | null {
    const r = this.reading;
    switch (r.kind) {
      case 'utf8':
        return bytes.toString('utf8', start, end);
      case 'decoder':
        if (isAscii(bytes, start, end)) return bytes.toString('latin1', start, end);
        try {
          return r.decoder.decode(bytes.subarray(start, end));
        } catch {
          // Bytes the server could not convert either: it refuses the statement, but we cannot read it.
          return null;
        }
      case 'bytes':
        return bytes.toString('latin1', start, end);
      case 'ascii-only':
        return isAscii(bytes, start, end) ? bytes.toString('latin1', start, end) : null;
    }
  }
}
