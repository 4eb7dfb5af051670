import { createHash } from 'node:crypto';

/**
 * tls-server-end-point channel binding (RFC 5929 §4.1). Node 20 does not expose a
 * certificate's signature algorithm, so we read its OID from the DER ourselves.
 */
export type BindingHash = 'sha224' | 'sha256' | 'sha384' | 'sha512';

export class CertificateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateParseError';
  }
}

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function readTlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new CertificateParseError('truncated DER');
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new CertificateParseError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new CertificateParseError('DER length past the end');
  return { tag, start, end };
}

function expect(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new CertificateParseError(`expected ${what}`);
  return t;
}

function oidString(der: Buffer, t: Tlv): string {
  const bytes = der.subarray(t.start, t.end);
  if (bytes.length === 0) throw new CertificateParseError('empty OID');
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const SHA256_FOR_WEAK = new Set([
  '1.2.840.113549.1.1.4', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
  '1.2.840.10040.4.3', // dsa-with-sha1
]);

const DIRECT: Record<string, BindingHash> = {
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
  '1.3.101.112': 'sha512', // Ed25519, as node-postgres and OpenSSL do
};

const HASH_OIDS: Record<string, BindingHash | 'sha1'> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const RSASSA_PSS = '1.2.840.113549.1.1.10';

/** RSASSA-PSS-params: [0] hashAlgorithm defaults to SHA-1. */
function pssHash(der: Buffer, params: Tlv | null): BindingHash {
  if (!params || params.tag !== 0x30 || params.start === params.end) return 'sha256';
  const first = readTlv(der, params.start, params.end);
  if (first.tag !== 0xa0) return 'sha256';
  const algId = expect(readTlv(der, first.start, first.end), 0x30, 'hash AlgorithmIdentifier');
  const oid = oidString(der, expect(readTlv(der, algId.start, algId.end), 0x06, 'hash OID'));
  const hash = HASH_OIDS[oid];
  if (!hash) throw new CertificateParseError(`unsupported PSS hash ${oid}`);
  return hash === 'sha1' ? 'sha256' : hash;
}

export function certificateSignatureHash(der: Buffer): BindingHash {
  const cert = expect(readTlv(der, 0, der.length), 0x30, 'Certificate SEQUENCE');
  const tbs = expect(readTlv(der, cert.start, cert.end), 0x30, 'TBSCertificate');
  const alg = expect(readTlv(der, tbs.end, cert.end), 0x30, 'signatureAlgorithm');
  const oidTlv = expect(readTlv(der, alg.start, alg.end), 0x06, 'algorithm OID');
  const oid = oidString(der, oidTlv);
  if (SHA256_FOR_WEAK.has(oid)) return 'sha256';
  const direct = DIRECT[oid];
  if (direct) return direct;
  if (oid === RSASSA_PSS) {
    const params = oidTlv.end < alg.end ? readTlv(der, oidTlv.end, alg.end) : null;
    return pssHash(der, params);
  }
  throw new CertificateParseError(`no channel binding hash for signature algorithm ${oid}`);
}

/** The tls-server-end-point binding data: the certificate's DER hashed per its signature. */
export function tlsServerEndPoint(der: Buffer): Buffer {
  return createHash(certificateSignatureHash(der)).update(der).digest();
}
