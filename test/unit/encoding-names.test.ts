import { describe, expect, it } from 'vitest';
import { CONFUSABLE_ENCODINGS, resolveEncoding } from '../../src/protocol/encoding-names.js';
import { readStartupSettings } from '../../src/policy/startup-settings.js';
import { PgError } from '../../src/protocol/errors.js';

describe('encoding names as Postgres resolves them', () => {
  it.each([
    ['WIN932', 'SJIS'],
    ['mskanji', 'SJIS'],
    ['Shift_JIS', 'SJIS'],
    ['windows936', 'GBK'],
    ['WIN950', 'BIG5'],
    ['win949', 'UHC'],
    ['Windows-949', 'UHC'],
    ['shift-jis-2004', 'SHIFT_JIS_2004'],
    ['UTF-8', 'UTF8'],
    ['unicode', 'UTF8'],
    ['ISO_8859-1', 'LATIN1'],
    ['tcvn5712', 'WIN1258'],
    ['win', 'WIN1251'],
  ])('%s is %s', (name, encoding) => {
    expect(resolveEncoding(name)).toBe(encoding);
  });

  it('knows no other names', () => {
    expect(resolveEncoding('klingon')).toBeNull();
    expect(resolveEncoding('')).toBeNull();
    expect(resolveEncoding(`utf8${'-'.repeat(70)}`)).toBeNull();
  });

  it('refuses a confusable encoding at startup under any of its names', () => {
    for (const name of ['WIN932', 'mskanji', 'windows936', 'WIN950', 'win949', 'sjis', 'Big-5', 'johab']) {
      expect(CONFUSABLE_ENCODINGS.has(resolveEncoding(name)!)).toBe(true);
      expect(() =>
        readStartupSettings([
          ['user', 'alice'],
          ['client_encoding', name],
        ]),
      ).toThrow(PgError);
    }
    expect(() => readStartupSettings([['client_encoding', 'UTF-8']])).not.toThrow();
    expect(() => readStartupSettings([['client_encoding', 'LATIN1']])).not.toThrow();
  });
});
