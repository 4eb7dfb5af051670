import { BlockList, isIP } from 'node:net';

/** IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d. */
export function normalizeIp(addr: string): { addr: string; type: 'ipv4' | 'ipv6' } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  const a = mapped ? mapped[1]! : addr;
  const v = isIP(a);
  return v === 0 ? null : { addr: a, type: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Addresses and CIDR ranges (v4 and v6; v4-mapped v6 clients match v4 ranges). */
export class AddressSet {
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [net, bits] = entry.split('/') as [string, string | undefined];
      const type = isIP(net) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(net, type);
      else this.list.addSubnet(net, Number(bits), type);
    }
  }

  has(address: string | undefined): boolean {
    const ip = address === undefined ? null : normalizeIp(address);
    return ip !== null && this.list.check(ip.addr, ip.type);
  }
}
