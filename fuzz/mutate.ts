/** mulberry32: small, fast, and the same sequence for the same --seed everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** Words of the formats under test, inserted whole: a byte-level mutation rarely spells them. */
const TOKENS = [
  '\0',
  ',',
  '=',
  '_pq_.',
  'SCRAM-SHA-256',
  'SCRAM-SHA-256-PLUS',
  'n,,',
  'y,,',
  'p=tls-server-end-point,,',
  'r=',
  'c=',
  'p=',
  's=',
  'i=',
  'n=',
  'a=',
  'm=',
  'v=',
  'e=',
  'user\0',
  'database\0',
  'options\0',
  'replication\0',
  'application_name\0',
  'client_encoding\0',
  '-c ',
  '--',
  '\\ ',
  // UTF-8 that decoders treat specially: a BOM, an overlong NUL, a lone surrogate, a 4-byte character.
  '\xef\xbb\xbf',
  '\xc0\x80',
  '\xed\xa0\x80',
  '\xf0\x9f\x90\x98',
  '\xc3\xa9',
].map((t) => Buffer.from(t, 'latin1'));

const INTERESTING = {
  1: [0, 1, 0x7f, 0x80, 0xff],
  2: [0, 1, 0x7fff, 0x8000, 0xffff, 1000, 10000],
  4: [
    0, -1, 0x7fffffff, 0x80000000, 10000, 10004, 10005, 65535, 65536, 1024, 1996, 2000, 4, 5, 8, 80877102, 80877103,
    80877104, 196608, 196609, 196610,
  ],
} as const;

const insert = (b: Buffer, at: number, bytes: Buffer): Buffer =>
  Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);

/** AFL-style havoc: a stack of 1, 2, 4 or 8 random edits of one corpus entry. */
export class Mutator {
  private readonly tokens: Buffer[];

  constructor(
    private readonly rng: Rng,
    private readonly maxLen: number,
    extraTokens: readonly string[] = [],
  ) {
    this.tokens = [...TOKENS, ...extraTokens.map((t) => Buffer.from(t, 'latin1'))];
  }

  mutate(input: Buffer, corpus: readonly Buffer[]): Buffer {
    let out: Buffer = Buffer.from(input);
    for (let n = 1 << this.rng.below(4); n > 0; n--) out = this.once(out, corpus);
    return out.length > this.maxLen ? out.subarray(0, this.maxLen) : out;
  }

  private once(b: Buffer, corpus: readonly Buffer[]): Buffer {
    const r = this.rng;
    const at = (extra = 0): number => r.below(b.length + extra);
    if (b.length === 0) return insert(b, 0, this.randomBytes());
    switch (r.below(12)) {
      case 0: {
        const i = at();
        b[i] = b[i]! ^ (1 << r.below(8));
        return b;
      }
      case 1:
        b[at()] = r.below(256);
        return b;
      case 2: {
        const i = at();
        b[i] = (b[i]! + (r.below(2) ? 1 : -1) * (1 + r.below(16))) & 0xff;
        return b;
      }
      case 3: {
        const width = r.pick([1, 2, 4] as const);
        return this.writeInt(b, width, r.pick(INTERESTING[width]));
      }
      case 4: {
        // A length word near the true one: what is left of the input after it, give or take.
        const o = r.below(Math.max(1, b.length - 3));
        return this.writeInt(b, 4, b.length - o + r.pick([0, 1, -1, 4, -4, 5, -5]), o);
      }
      case 5:
        return insert(b, at(1), this.randomBytes());
      case 6: {
        const i = at();
        return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + r.below(Math.min(16, b.length - i)))]);
      }
      case 7: {
        const i = at();
        return insert(b, at(1), Buffer.from(b.subarray(i, i + 1 + r.below(32))));
      }
      case 8: {
        const i = at();
        b.copyWithin(at(), i, i + 1 + r.below(16));
        return b;
      }
      case 9: {
        const other = r.pick(corpus);
        if (r.below(2)) return Buffer.concat([b.subarray(0, at(1)), other.subarray(r.below(other.length + 1))]);
        const i = r.below(other.length + 1);
        return insert(b, at(1), Buffer.from(other.subarray(i, i + 1 + r.below(64))));
      }
      case 10:
        return insert(b, at(1), r.pick(this.tokens));
      default: {
        const token = r.pick(this.tokens);
        const i = at();
        token.copy(b, i, 0, Math.min(token.length, b.length - i));
        return b;
      }
    }
  }

  private writeInt(b: Buffer, width: 1 | 2 | 4, value: number, offset?: number): Buffer {
    if (b.length < width) return insert(b, b.length, Buffer.alloc(width - b.length));
    const o = offset ?? this.rng.below(b.length - width + 1);
    const v = value >>> 0;
    if (width === 1) b[o] = v & 0xff;
    else if (width === 2) b.writeUInt16BE(v & 0xffff, o);
    else b.writeUInt32BE(v, o);
    return b;
  }

  private randomBytes(): Buffer {
    const bytes = Buffer.alloc(1 + this.rng.below(8));
    const fill = this.rng.below(2) ? -1 : this.rng.below(256);
    for (let i = 0; i < bytes.length; i++) bytes[i] = fill >= 0 ? fill : this.rng.below(256);
    return bytes;
  }
}
