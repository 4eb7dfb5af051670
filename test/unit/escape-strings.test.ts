import { beforeAll, describe, expect, it } from 'vitest';
import { StatementInspector } from '../../src/detect/classify.js';
import { asStandardConforming } from '../../src/detect/escape-strings.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';
import { ClientText } from '../../src/protocol/client-text.js';

beforeAll(() => loadSqlParser());

describe('standard_conforming_strings=off: what the parser is given (BAD_INPUTS G15)', () => {
  it.each([
    ['no backslash: unchanged', "select 'a', 'b'", "select 'a', 'b'"],
    ['plain literal with an escape becomes E', "select 'a\\'b'", "select E'a\\'b'"],
    ['N literal: its N becomes the E', "select N'a\\\\b'", "select E'a\\\\b'"],
    ['E literal: already escaped, unchanged', "select E'a\\'b'", "select E'a\\'b'"],
    ['bit and hex strings: no escapes', "select B'01', X'1f', 'c\\n'", "select B'01', X'1f', E'c\\n'"],
    ['a typed literal keeps its type name apart', "select date'x\\y', abe'z'", "select date E'x\\y', abe'z'"],
    [
      'dollar quotes and comments are left alone',
      "select $q$it's \\$q$ -- '\\'\n, /* '\\' /* nested */ */ 'z\\z'",
      "select $q$it's \\$q$ -- '\\'\n, /* '\\' /* nested */ */ E'z\\z'",
    ],
    [
      'quoted identifiers are left alone',
      `select "a'\\" from t where v = 'x\\'y'`,
      `select "a'\\" from t where v = E'x\\'y'`,
    ],
    ['a literal continued on the next line is one literal', "select 'a'\n  'b\\'c'", "select E'a'\n  'b\\'c'"],
    ['parameters are not dollar quotes', "select $1, 'q\\'r' where $2 = 1", "select $1, E'q\\'r' where $2 = 1"],
  ])('%s', (_name, input, expected) => {
    expect(asStandardConforming(input)).toBe(expected);
  });

  it('the bypass: one harmless SELECT to a standard reader is a SELECT and a DROP to the server', () => {
    const inspector = new StatementInspector();
    const sql = "select 'a\\''; drop table victim; --'";
    expect(inspector.inspect(sql).risks).not.toContain('drop');
    const asServer = inspector.inspect(asStandardConforming(sql));
    expect(asServer.count).toBe(2);
    expect(asServer.risks).toContain('drop');
  });
});

describe('client_encoding: reading statement text as the server will', () => {
  // SJIS 0x81 0x5C is one character whose second byte is an ASCII backslash.
  const sjis = Buffer.concat([
    Buffer.from("select E'"),
    Buffer.from([0x81, 0x5c]),
    Buffer.from("'; drop table victim; --'"),
  ]);

  it('UTF8 (default) reads bytes as UTF-8', () => {
    const t = new ClientText();
    expect(t.decode(Buffer.from('select ☃'), 0, 10)).toBe('select ☃');
  });

  it('SJIS: the trail byte is not a backslash, so the DROP is visible', () => {
    const t = new ClientText();
    t.setEncoding('SJIS');
    const text = t.decode(sjis, 0, sjis.length)!;
    expect(text).not.toContain('\\');
    expect(new StatementInspector().inspect(text).risks).toContain('drop');
    // Read as UTF-8 the same bytes hide the DROP inside a string.
    expect(new StatementInspector().inspect(sjis.toString('utf8')).risks).not.toContain('drop');
  });

  it('bytes that are not valid SJIS cannot be read: null, never a lossy guess', () => {
    const t = new ClientText();
    t.setEncoding('SJIS');
    expect(t.decode(Buffer.from([0x73, 0x81, 0x20]), 0, 3)).toBeNull();
  });

  it('JOHAB (no decoder): ASCII is read, anything else is not', () => {
    const t = new ClientText();
    t.setEncoding('JOHAB');
    expect(t.decode(Buffer.from('select 1'), 0, 8)).toBe('select 1');
    expect(t.decode(Buffer.from([0x84, 0x5c]), 0, 2)).toBeNull();
  });

  it('single-byte encodings read by their decoder (KOI8R), or byte by byte where Node has none (LATIN10)', () => {
    const t = new ClientText();
    t.setEncoding('KOI8R');
    expect(t.decode(Buffer.from([0xd4, 0xc1, 0xc2]), 0, 3)).toBe('таб');
    t.setEncoding('LATIN10');
    expect(t.decode(Buffer.from([0x41, 0xa1, 0x5c]), 0, 3)).toBe('A\u00a1\\');
  });
});
