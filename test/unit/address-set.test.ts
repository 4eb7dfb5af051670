import { describe, expect, it } from 'vitest';
import { AddressSet, normalizeIp } from '../../src/util/address-set.js';

describe('normalizeIp', () => {
  it.each([
    ['192.0.2.7', { addr: '192.0.2.7', type: 'ipv4' }],
    // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: it is that IPv4 client.
    ['::ffff:192.0.2.7', { addr: '192.0.2.7', type: 'ipv4' }],
    ['::FFFF:192.0.2.7', { addr: '192.0.2.7', type: 'ipv4' }],
    ['::1', { addr: '::1', type: 'ipv6' }],
    ['2001:db8::42', { addr: '2001:db8::42', type: 'ipv6' }],
    // The hexadecimal spelling of a mapped address stays IPv6 (ranges still match it, below).
    ['::ffff:c000:207', { addr: '::ffff:c000:207', type: 'ipv6' }],
  ])('%s', (input, expected) => {
    expect(normalizeIp(input)).toEqual(expected);
  });

  it.each(['', 'localhost', '192.0.2.7 ', '[::1]', '256.0.0.1', '::ffff:999.1.1.1', '192.0.2'])(
    '%j is not an address',
    (input) => {
      expect(normalizeIp(input)).toBeNull();
    },
  );
});

describe('AddressSet', () => {
  it('a single IPv4 address matches only itself', () => {
    const set = new AddressSet(['192.0.2.7']);
    expect(set.has('192.0.2.7')).toBe(true);
    expect(set.has('192.0.2.6')).toBe(false);
    expect(set.has('192.0.2.8')).toBe(false);
  });

  it('an IPv4 range includes its first and last address and nothing either side', () => {
    const set = new AddressSet(['10.0.0.0/8']);
    expect(set.has('10.0.0.0')).toBe(true);
    expect(set.has('10.255.255.255')).toBe(true);
    expect(set.has('9.255.255.255')).toBe(false);
    expect(set.has('11.0.0.0')).toBe(false);
  });

  it.each([
    ['192.0.2.128/25', '192.0.2.128', true],
    ['192.0.2.128/25', '192.0.2.255', true],
    ['192.0.2.128/25', '192.0.2.127', false],
    ['192.0.2.6/31', '192.0.2.6', true],
    ['192.0.2.6/31', '192.0.2.7', true],
    ['192.0.2.6/31', '192.0.2.8', false],
    ['192.0.2.7/32', '192.0.2.7', true],
    ['192.0.2.7/32', '192.0.2.6', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '255.255.255.255', true],
  ])('%s has %s: %s', (range, address, expected) => {
    expect(new AddressSet([range]).has(address)).toBe(expected);
  });

  it('a range written with host bits set means its network (10.1.2.3/8 is 10.0.0.0/8)', () => {
    const set = new AddressSet(['10.1.2.3/8']);
    expect(set.has('10.200.0.1')).toBe(true);
    expect(set.has('11.1.2.3')).toBe(false);
  });

  it('an IPv4 client on a dual-stack socket matches IPv4 entries, in either spelling', () => {
    const set = new AddressSet(['10.0.0.0/8', '192.0.2.7']);
    expect(set.has('::ffff:10.1.2.3')).toBe(true);
    expect(set.has('::ffff:a01:203')).toBe(true);
    expect(set.has('::ffff:192.0.2.7')).toBe(true);
    expect(set.has('::ffff:11.1.2.3')).toBe(false);
  });

  it('IPv6 ranges and addresses, whatever the spelling of the client address', () => {
    const set = new AddressSet(['2001:db8::/32', '::1']);
    expect(set.has('2001:db8::')).toBe(true);
    expect(set.has('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(set.has('2001:DB8::1')).toBe(true);
    expect(set.has('2001:0db8:0000:0000::1')).toBe(true);
    expect(set.has('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(false);
    expect(set.has('2001:db9::')).toBe(false);
    expect(set.has('::1')).toBe(true);
    expect(set.has('::2')).toBe(false);
  });

  it('an IPv6 /128 and a /127 edge', () => {
    expect(new AddressSet(['2001:db8::5/128']).has('2001:db8::5')).toBe(true);
    expect(new AddressSet(['2001:db8::5/128']).has('2001:db8::4')).toBe(false);
    expect(new AddressSet(['2001:db8::4/127']).has('2001:db8::5')).toBe(true);
    expect(new AddressSet(['2001:db8::4/127']).has('2001:db8::6')).toBe(false);
  });

  it('IPv4 is not in an IPv6 range outside ::ffff:0:0/96, and IPv6 is not in IPv4 ranges', () => {
    expect(new AddressSet(['2001:db8::/32']).has('32.1.13.184')).toBe(false);
    expect(new AddressSet(['0.0.0.0/0']).has('::1')).toBe(false);
    expect(new AddressSet(['0.0.0.0/0']).has('2001:db8::1')).toBe(false);
  });

  it('the IPv4-mapped IPv6 range is the IPv4 space', () => {
    expect(new AddressSet(['::ffff:0:0/96']).has('198.51.100.1')).toBe(true);
    expect(new AddressSet(['::ffff:10.0.0.0/104']).has('10.9.9.9')).toBe(true);
    expect(new AddressSet(['::ffff:10.0.0.0/104']).has('11.0.0.0')).toBe(false);
  });

  it('several entries: any one matching is enough', () => {
    const set = new AddressSet(['10.0.0.0/8', '172.16.0.0/12', '2001:db8::/32']);
    expect(['10.9.9.9', '172.31.255.255', '2001:db8::9'].map((a) => set.has(a))).toEqual([true, true, true]);
    expect(['172.32.0.0', '192.168.0.1', '2001:db9::'].map((a) => set.has(a))).toEqual([false, false, false]);
  });

  it('nothing is in an empty set', () => {
    expect(new AddressSet([]).has('127.0.0.1')).toBe(false);
    expect(new AddressSet([]).has('::1')).toBe(false);
  });

  it('an unknown or unparsable client address is never in the set, even in one that spans everything', () => {
    const set = new AddressSet(['0.0.0.0/0', '::/0']);
    expect(set.has(undefined)).toBe(false);
    expect(set.has('')).toBe(false);
    expect(set.has('unix:/tmp/.s.PGSQL.5432')).toBe(false);
    expect(set.has('10.0.0.1:5432')).toBe(false);
  });

  it('refuses a prefix longer than the address', () => {
    expect(() => new AddressSet(['10.0.0.0/33'])).toThrow(RangeError);
    expect(() => new AddressSet(['2001:db8::/129'])).toThrow(RangeError);
  });
});

describe('AddressSet reads IPv6 entries as pg_hba.conf does', () => {
  it('::/0 admits every IPv6 client and no IPv4 client, whichever way the socket spells it', () => {
    const set = new AddressSet(['::/0']);
    expect(['::1', '2001:db8::1', 'fe80::1'].map((a) => set.has(a))).toEqual([true, true, true]);
    expect(['127.0.0.1', '::ffff:127.0.0.1', '10.1.2.3'].map((a) => set.has(a))).toEqual([false, false, false]);
  });

  it('a single mapped address names that IPv4 client', () => {
    const set = new AddressSet(['::ffff:192.0.2.7']);
    expect(set.has('192.0.2.7')).toBe(true);
    expect(set.has('::ffff:192.0.2.7')).toBe(true);
    expect(set.has('192.0.2.8')).toBe(false);
  });
});
