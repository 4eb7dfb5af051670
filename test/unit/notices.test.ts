import { describe, expect, it } from 'vitest';
import {
  decodeNotice,
  encodeNotice,
  noticeChannel,
  NoticeTooLargeError,
  type Notice,
} from '../../src/store/notices.js';

const examples: Notice[] = [
  { kind: 'token-revoked', jti: 'a1b2' },
  { kind: 'user-revoked', user: 'alice@example.com' },
  { kind: 'session-killed', session: '5d7c0e1e-0000-4000-8000-000000000001', by: 'admin@example.com' },
  { kind: 'cancel', pid: 4242, keyHash: '0badc0ffee', from: 'gw-1' },
  { kind: 'policy-version', version: 17 },
];

describe('notices', () => {
  it.each(examples)('a $kind notice decodes to what was encoded', (n) => {
    expect(decodeNotice(encodeNotice(n))).toEqual(n);
  });

  it('revocations and kills share one channel; cancels and policy versions have their own', () => {
    expect(noticeChannel('user-revoked')).toBe(noticeChannel('token-revoked'));
    expect(noticeChannel('session-killed')).toBe(noticeChannel('token-revoked'));
    expect(
      new Set([noticeChannel('token-revoked'), noticeChannel('cancel'), noticeChannel('policy-version')]).size,
    ).toBe(3);
  });

  it.each([
    ['not JSON', '{'],
    ['the old revocation payload', '{"jti":"a1b2"}'],
    ['the old policy payload', '17'],
    ['an unknown kind', '{"kind":"reboot"}'],
    ['a cancel with a string pid', '{"kind":"cancel","pid":"4242","keyHash":"00","from":"gw"}'],
    ['a cancel without its sender', '{"kind":"cancel","pid":4242,"keyHash":"00"}'],
    ['a key hash that is not hex', '{"kind":"cancel","pid":1,"keyHash":"zz","from":"gw"}'],
    ['a policy version of zero', '{"kind":"policy-version","version":0}'],
  ])('%s is not a notice', (_what, payload) => {
    expect(decodeNotice(payload)).toBeNull();
  });

  it('fields a notice does not define are not passed on', () => {
    expect(decodeNotice('{"kind":"token-revoked","jti":"x","extra":1}')).toEqual({ kind: 'token-revoked', jti: 'x' });
  });

  it('refuses to encode what receivers would drop, or what NOTIFY would refuse', () => {
    expect(() => encodeNotice({ kind: 'token-revoked', jti: '' })).toThrow();
    expect(() => encodeNotice({ kind: 'user-revoked', user: 'x'.repeat(8_000) })).toThrow(NoticeTooLargeError);
  });
});
