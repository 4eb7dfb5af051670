import {
  clientKey,
  constantTimeEqual,
  decodeBase64,
  hmac,
  randomNonce,
  saltedPassword,
  serverKey,
  sha256,
  xor,
} from './scram-primitives.js';
import { SCRAM, SCRAM_PLUS } from './scram-server.js';

/** The upstream refused or misbehaved during SCRAM; the message never holds the password. */
export class UpstreamAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamAuthError';
  }
}

/** A hostile upstream must not make us spin: Postgres itself defaults to 4096. */
const MAX_ITERATIONS = 1_000_000;
const MAX_ATTRIBUTE = 512;

export interface ScramClientOptions {
  password: string;
  /** Mechanisms the server offered. */
  mechanisms: readonly string[];
  /** tls-server-end-point hash of the server's certificate when on TLS, else null. */
  channelBinding: Buffer | null;
  /** Fixed client nonce, for test vectors only. */
  nonce?: string;
  /** Remembers derived keys so a reconnect skips PBKDF2 (the gateway's connect-rate hot spot). */
  keyCache?: ScramKeyCache;
}

/**
 * Client and server keys by (password, salt, iterations). The server's salt and count
 * only change when the upstream password does, so each upstream role pays PBKDF2 once.
 */
export class ScramKeyCache {
  private readonly entries = new Map<string, { clientKey: Buffer; serverKey: Buffer }>();
  constructor(private readonly capacity = 256) {}

  derive(password: string, salt: Buffer, iterations: number): { clientKey: Buffer; serverKey: Buffer } {
    const id = sha256(Buffer.concat([sha256(password), salt, Buffer.from(String(iterations))])).toString('base64');
    const hit = this.entries.get(id);
    if (hit) return hit;
    const salted = saltedPassword(password, salt, iterations);
    const keys = { clientKey: clientKey(salted), serverKey: serverKey(salted) };
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, keys);
    return keys;
  }
}

function attributes(message: string, expected: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new UpstreamAuthError('malformed SCRAM message from server');
    if (m[2]!.length > MAX_ATTRIBUTE) throw new UpstreamAuthError('SCRAM attribute from server is too long');
    out.set(m[1]!, m[2]!);
  }
  if (out.has('e')) throw new UpstreamAuthError(`server reported SCRAM error: ${out.get('e')!.slice(0, 100)}`);
  for (const name of expected)
    if (!out.has(name)) throw new UpstreamAuthError(`SCRAM message from server lacks "${name}"`);
  return out;
}

/** The gateway's side of SCRAM toward a real Postgres, checked as strictly as libpq. */
export class ScramClientExchange {
  readonly mechanism: string;
  private readonly gs2Header: string;
  private readonly clientNonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;
  private finished = false;

  constructor(private readonly opts: ScramClientOptions) {
    const canBind = opts.channelBinding !== null;
    if (canBind && opts.mechanisms.includes(SCRAM_PLUS)) {
      this.mechanism = SCRAM_PLUS;
      this.gs2Header = 'p=tls-server-end-point,,';
    } else if (opts.mechanisms.includes(SCRAM)) {
      this.mechanism = SCRAM;
      // "y": we could bind but the server did not offer it, which a server can then detect.
      this.gs2Header = canBind ? 'y,,' : 'n,,';
    } else {
      throw new UpstreamAuthError(`server offered no supported SASL mechanism (${opts.mechanisms.join(', ')})`);
    }
    this.clientNonce = opts.nonce ?? randomNonce();
  }

  get completed(): boolean {
    return this.finished;
  }

  get channelBound(): boolean {
    return this.finished && this.mechanism === SCRAM_PLUS;
  }

  clientFirst(): Buffer {
    this.clientFirstBare = `n=,r=${this.clientNonce}`;
    return Buffer.from(this.gs2Header + this.clientFirstBare);
  }

  serverFirst(message: string): Buffer {
    if (this.expectedServerSignature) throw new UpstreamAuthError('unexpected second server-first-message');
    const a = attributes(message, ['r', 's', 'i']);
    const nonce = a.get('r')!;
    if (!nonce.startsWith(this.clientNonce) || nonce.length <= this.clientNonce.length) {
      throw new UpstreamAuthError('invalid SCRAM response (nonce mismatch)');
    }
    const salt = decodeBase64(a.get('s')!);
    if (!salt || salt.length === 0) throw new UpstreamAuthError('malformed SCRAM message (invalid salt)');
    const iterText = a.get('i')!;
    const iterations = /^\d{1,10}$/.test(iterText) ? Number(iterText) : NaN;
    if (!(iterations >= 1 && iterations <= MAX_ITERATIONS)) {
      throw new UpstreamAuthError('malformed SCRAM message (invalid iteration count)');
    }
    const cbInput = Buffer.concat([
      Buffer.from(this.gs2Header),
      this.mechanism === SCRAM_PLUS ? this.opts.channelBinding! : Buffer.alloc(0),
    ]);
    const withoutProof = `c=${cbInput.toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${message},${withoutProof}`;
    const keys = this.opts.keyCache
      ? this.opts.keyCache.derive(this.opts.password, salt, iterations)
      : (() => {
          const salted = saltedPassword(this.opts.password, salt, iterations);
          return { clientKey: clientKey(salted), serverKey: serverKey(salted) };
        })();
    const proof = xor(keys.clientKey, hmac(sha256(keys.clientKey), authMessage));
    this.expectedServerSignature = hmac(keys.serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  serverFinal(message: string): void {
    if (!this.expectedServerSignature || this.finished) {
      throw new UpstreamAuthError('server sent SASLFinal before the exchange was complete');
    }
    const a = attributes(message, ['v']);
    const signature = decodeBase64(a.get('v')!);
    if (!signature || !constantTimeEqual(signature, this.expectedServerSignature)) {
      throw new UpstreamAuthError('incorrect server signature');
    }
    this.finished = true;
  }
}
