import { PgError, passwordFailed, protocolViolation } from '../protocol/errors.js';
import { SqlState } from '../protocol/sqlstate.js';
import { constantTimeEqual, decodeBase64, hmac, randomNonce, sha256, xor } from './scram-primitives.js';

export const SCRAM = 'SCRAM-SHA-256';
export const SCRAM_PLUS = 'SCRAM-SHA-256-PLUS';
const CB_TYPE = 'tls-server-end-point';

export interface ScramCredentialSet {
  salt: Buffer;
  iterations: number;
  /** One per live token of the user; the proof is checked against each. */
  verifiers: Array<{ id: string; storedKey: Buffer; serverKey: Buffer }>;
}

export interface ScramServerOptions {
  /** The startup packet's user: authoritative (the SCRAM n= is ignored, as in Postgres). */
  user: string;
  /** null for an unknown user: the exchange still runs to the end, then fails. */
  credentials: ScramCredentialSet | null;
  /** Keys the mock salt, so an unknown user's salt is stable and unguessable. */
  mockSecret: Buffer;
  mockIterations: number;
  /** tls-server-end-point hash of the served certificate when on TLS, else null. */
  channelBinding: Buffer | null;
}

/** Most preferred first; PLUS only where binding is possible. */
export function advertisedMechanisms(tls: boolean): string[] {
  return tls ? [SCRAM_PLUS, SCRAM] : [SCRAM];
}

const malformed = (detail: string): PgError => protocolViolation('malformed SCRAM message', detail);

/** A cursor over a SCRAM message, reading `x=value` attributes as Postgres does. */
class Attributes {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  /** Reads `name=value` up to the next comma (consumed) or the end. */
  read(name: string): string {
    const found = this.text[this.pos];
    if (found !== name) {
      throw malformed(`Expected attribute "${name}" but found "${found ?? ''}".`);
    }
    if (this.text[this.pos + 1] !== '=') throw malformed(`Expected character "=" for attribute "${name}".`);
    return this.value(this.pos + 2);
  }

  /** Reads any attribute; returns its name and value. */
  readAny(): [string, string] {
    const name = this.text[this.pos] ?? '';
    if (!/^[A-Za-z]$/.test(name)) throw malformed(`Attribute expected, but found invalid character "${name}".`);
    if (this.text[this.pos + 1] !== '=') throw malformed(`Expected character "=" for attribute "${name}".`);
    return [name, this.value(this.pos + 2)];
  }

  private value(from: number): string {
    const comma = this.text.indexOf(',', from);
    const end = comma < 0 ? this.text.length : comma;
    this.pos = comma < 0 ? end : end + 1;
    return this.text.slice(from, end);
  }
}

/** Printable ASCII except comma (RFC 5802 "printable"). */
const printableNonce = (s: string): boolean => /^[\x21-\x2b\x2d-\x7e]+$/.test(s);

type State = 'init' | 'first' | 'final' | 'done';

/**
 * The server side of one SCRAM-SHA-256(-PLUS) exchange, pure: messages in, messages out,
 * every malformed input answered with the SQLSTATE and text Postgres uses.
 */
export class ScramServerExchange {
  private state: State = 'init';
  private mechanism = SCRAM;
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private clientNonce = '';
  private serverNonce = '';
  private readonly salt: Buffer;
  private readonly iterations: number;

  constructor(private readonly opts: ScramServerOptions) {
    if (opts.credentials) {
      this.salt = opts.credentials.salt;
      this.iterations = opts.credentials.iterations;
    } else {
      this.salt = hmac(opts.mockSecret, `scram-mock-salt:${opts.user}`).subarray(0, 16);
      this.iterations = opts.mockIterations;
    }
  }

  start(mechanism: string, initial: Buffer | null): { serverFirst: string } | { emptyContinue: true } {
    if (this.state !== 'init') throw protocolViolation('unexpected SASL initial response');
    if (mechanism !== SCRAM && !(mechanism === SCRAM_PLUS && this.opts.channelBinding)) {
      throw protocolViolation('client selected an invalid SASL authentication mechanism');
    }
    this.mechanism = mechanism;
    this.state = 'first';
    if (initial === null) return { emptyContinue: true };
    return this.clientFirst(initial);
  }

  clientFirst(message: Buffer): { serverFirst: string } {
    if (this.state !== 'first') throw protocolViolation('unexpected SCRAM client-first-message');
    const text = this.decode(message);
    const a = new Attributes(text);
    const plus = this.mechanism === SCRAM_PLUS;
    const flag = a.peek();
    if (flag === 'p') {
      if (!plus) {
        throw malformed(
          'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.',
        );
      }
      const cbName = a.read('p');
      if (cbName !== CB_TYPE) {
        throw protocolViolation(`unsupported SCRAM channel-binding type "${cbName.replace(/[^\x20-\x7e]/g, '?')}"`);
      }
    } else if (flag === 'y' || flag === 'n') {
      if (plus) {
        throw malformed(
          'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.',
        );
      }
      if (flag === 'y' && this.opts.channelBinding) {
        // The client thinks we cannot bind, but we advertised PLUS: someone stripped it.
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'SCRAM channel binding negotiation error', {
          detail:
            'The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.',
        });
      }
      a.pos++;
      if (a.peek() !== ',') throw malformed(`Comma expected, but found character "${a.peek()}".`);
      a.pos++;
    } else {
      throw malformed(`Unexpected channel-binding flag "${flag.replace(/[^\x20-\x7e]/g, '?')}".`);
    }
    if (a.peek() === 'a') {
      throw new PgError(SqlState.featureNotSupported, 'client uses authorization identity, but it is not supported');
    }
    if (a.peek() !== ',') throw malformed(`Unexpected attribute "${a.peek()}" in client-first-message.`);
    a.pos++;
    this.gs2Header = text.slice(0, a.pos);
    this.clientFirstBare = text.slice(a.pos);
    if (a.peek() === 'm') {
      throw new PgError(SqlState.featureNotSupported, 'client requires an unsupported SCRAM extension');
    }
    a.read('n'); // ignored: the startup packet's user is authoritative
    this.clientNonce = a.read('r');
    if (!printableNonce(this.clientNonce)) throw protocolViolation('non-printable characters in SCRAM nonce');
    while (!a.done) a.readAny(); // optional extensions are ignored
    this.serverNonce = randomNonce();
    this.serverFirst = `r=${this.clientNonce}${this.serverNonce},s=${this.salt.toString('base64')},i=${this.iterations}`;
    this.state = 'final';
    return { serverFirst: this.serverFirst };
  }

  clientFinal(message: Buffer): { serverFinal: string; verifierId: string } {
    if (this.state !== 'final') throw protocolViolation('unexpected SCRAM client-final-message');
    const text = this.decode(message);
    const a = new Attributes(text);
    const cb = a.read('c');
    if (this.mechanism === SCRAM_PLUS) {
      const expected = Buffer.concat([Buffer.from(`${this.gs2Header}`), this.opts.channelBinding ?? Buffer.alloc(0)]);
      const got = decodeBase64(cb);
      if (!got || !constantTimeEqual(got, expected)) {
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'SCRAM channel binding check failed');
      }
    } else if (cb !== Buffer.from(this.gs2Header).toString('base64')) {
      throw protocolViolation('unexpected SCRAM channel-binding attribute in client-final-message');
    }
    const nonce = a.read('r');
    if (nonce !== this.clientNonce + this.serverNonce) {
      throw protocolViolation('invalid SCRAM response', 'Nonce does not match.');
    }
    while (!a.done && a.peek() !== 'p') a.readAny();
    const proofStart = a.pos;
    const proofText = a.read('p');
    const proof = decodeBase64(proofText);
    if (!proof || proof.length !== 32) throw malformed('Malformed proof in client-final-message.');
    if (!a.done || text.endsWith(',')) throw malformed('Garbage found at the end of client-final-message.');
    const withoutProof = text.slice(0, proofStart - 1);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    this.state = 'done';
    return this.verify(proof, authMessage);
  }

  /**
   * Checks the proof against every live verifier without stopping at the first match, and
   * against a throwaway key for unknown users, so timing says nothing about either.
   */
  private verify(proof: Buffer, authMessage: string): { serverFinal: string; verifierId: string } {
    const verifiers = this.opts.credentials?.verifiers ?? [];
    const candidates =
      verifiers.length > 0 ? verifiers : [{ id: '', storedKey: sha256(this.salt), serverKey: this.salt }];
    let match: (typeof candidates)[number] | null = null;
    for (const v of candidates) {
      const clientKey = xor(proof, hmac(v.storedKey, authMessage));
      if (constantTimeEqual(sha256(clientKey), v.storedKey) && verifiers.length > 0 && !match) match = v;
    }
    if (!match) {
      throw passwordFailed(this.opts.user, this.opts.credentials ? 'wrong proof (no token matches)' : 'unknown user');
    }
    return { serverFinal: `v=${hmac(match.serverKey, authMessage).toString('base64')}`, verifierId: match.id };
  }

  private decode(message: Buffer): string {
    if (message.length === 0) throw malformed('The message is empty.');
    if (message.includes(0)) throw malformed('Message length does not match input length.');
    return message.toString('latin1');
  }
}
