import { BlockList, isIP } from 'node:net';

/** IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d. */
export function normalizeIp(addr: string): { addr: string; type: 'ipv4' | 'ipv6' } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  const a = mapped ? mapped[1]! : addr;
  const v = isIP(a);
  return v === 0 ? null : { addr: a, type: v === 4 ? 'ipv4' : 'ipv6' };
}

const MAPPED_V4 = new BlockList();
MAPPED_V4.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * Addresses and CIDR ranges, read as pg_hba.conf reads them: an IPv6 entry such as ::/0 does
 * not admit IPv4 clients (Node's BlockList alone would, by mapping them), so a rule meant for
 * IPv6 cannot widen to every IPv4 address. An entry written inside ::ffff:0:0/96 names IPv4
 * addresses and matches those clients.
 */
export class AddressSet {
  private readonly v4 = new BlockList();
  private readonly v6 = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [net, bits] = entry.split('/') as [string, string | undefined];
      const type = isIP(net) === 4 ? 'ipv4' : 'ipv6';
      const prefix = bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits);
      const mapped = type === 'ipv6' && prefix >= 96 && MAPPED_V4.check(net, 'ipv6');
      const list = type === 'ipv4' || mapped ? this.v4 : this.v6;
      if (bits === undefined) list.addAddress(net, type);
      else list.addSubnet(net, prefix, type);
    }
  }

  has(address: string | undefined): boolean {
    const ip = address === undefined ? null : normalizeIp(address);
    if (ip === null) return false;
    if (ip.type === 'ipv4') return this.v4.check(ip.addr, 'ipv4');
    // The hexadecimal spelling of a mapped address (::ffff:a01:203) is an IPv4 client too.
    return MAPPED_V4.check(ip.addr, 'ipv6') ? this.v4.check(ip.addr, 'ipv6') : this.v6.check(ip.addr, 'ipv6');
  }
}
