import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { certificateSignatureHash, CertificateParseError, tlsServerEndPoint } from '../../src/auth/channel-binding.js';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';

describe('development certificates', () => {
  it('chain to their CA, cover localhost, 127.0.0.1 and ::1, and are reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-ca-'));
    const a = await ensureDevCertificates(dir);
    const cert = new X509Certificate(a.certPem);
    expect(cert.verify(new X509Certificate(a.caPem).publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    const b = await ensureDevCertificates(dir);
    expect(b.certPem).toBe(a.certPem);
    expect((await stat(a.keyPath)).mode & 0o777).toBe(0o600);
  });

  it('serve TLS that a verify-full client accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-ca-'));
    const c = await ensureDevCertificates(dir);
    const server = tls.createServer({ cert: c.certPem, key: c.keyPem }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca: c.caPem, servername: 'localhost' }, () => undefined);
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    server.close();
    expect(text).toBe('ok');
    expect(await readFile(c.caCertPath, 'utf8')).toBe(c.caPem);
  });
});

function selfSigned(md: 'sha1' | 'sha256' | 'sha384' | 'sha512'): Buffer {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'x' }]);
  cert.setIssuer([{ name: 'commonName', value: 'x' }]);
  cert.sign(keys.privateKey, forge.md[md].create());
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

describe('tls-server-end-point channel binding', () => {
  it.each([
    ['sha256', 'sha256'],
    ['sha384', 'sha384'],
    ['sha512', 'sha512'],
    ['sha1', 'sha256'],
  ] as const)('a %s-signed certificate is hashed with %s', (md, expected) => {
    const der = selfSigned(md);
    expect(certificateSignatureHash(der)).toBe(expected);
    expect(tlsServerEndPoint(der).equals(createHash(expected).update(der).digest())).toBe(true);
  });

  it('refuses truncated or garbage DER without reading out of range', () => {
    const der = selfSigned('sha256');
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from([0x30]),
      der.subarray(0, 40),
      Buffer.from('3084ffffffff', 'hex'),
      Buffer.from('garbage'),
    ]) {
      expect(() => certificateSignatureHash(bad)).toThrow(CertificateParseError);
    }
  });
});
