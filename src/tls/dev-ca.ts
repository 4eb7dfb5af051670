import { generateKeyPair as generateKeyPairCb, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPair = promisify(generateKeyPairCb);

export interface DevCertificates {
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** node:crypto makes the key (fast, native); forge only builds and signs certificates. */
async function rsaKey(): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

/** A positive serial: the top bit of the first byte clear. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number): void {
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function altNames(names: string[]): Array<{ type: number; value?: string; ip?: string }> {
  return names.map((n) => (IPV4.test(n) || n.includes(':') ? { type: 7, ip: n } : { type: 2, value: n }));
}

async function createCa(dir: string): Promise<{ certPem: string; keyPem: string }> {
  const key = await rsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = serial();
  validity(cert, 3650);
  const subject = [
    { name: 'commonName', value: `pgward development CA (${hostname()})` },
    { name: 'organizationName', value: 'pgward' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(key.privatePem), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  await writeFile(join(dir, 'ca.crt'), certPem, { mode: 0o644 });
  await writeFile(join(dir, 'ca.key'), key.privatePem, { mode: 0o600 });
  return { certPem, keyPem: key.privatePem };
}

/** Issues a server certificate signed by the CA in caDir, written as <prefix>.crt/.key. */
export async function issueServerCertificate(
  caDir: string,
  outPrefix: string,
  names: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const [caPem, caKeyPem] = await Promise.all([
    readFile(join(caDir, 'ca.crt'), 'utf8'),
    readFile(join(caDir, 'ca.key'), 'utf8'),
  ]);
  const ca = forge.pki.certificateFromPem(caPem);
  const key = await rsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = serial();
  validity(cert, 365);
  cert.setSubject([{ name: 'commonName', value: names[0] ?? 'localhost' }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(names) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  await writeFile(`${outPrefix}.crt`, certPem, { mode: 0o644 });
  await writeFile(`${outPrefix}.key`, key.privatePem, { mode: 0o600 });
  return { certPem, keyPem: key.privatePem };
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function coversAll(pem: string, caPem: string, names: string[]): boolean {
  const cert = new X509Certificate(pem);
  if (new Date(cert.validTo).getTime() < Date.now() + 86_400_000) return false;
  if (!cert.verify(new X509Certificate(caPem).publicKey)) return false;
  return names.every((n) => (IPV4.test(n) || n.includes(':') ? cert.checkIP(n) : cert.checkHost(n)) !== undefined);
}

/**
 * A development CA and a server certificate for localhost, 127.0.0.1, ::1 and this host,
 * made on first use and reused while still valid for those names.
 */
export async function ensureDevCertificates(
  dir: string,
  opts: { hostnames?: string[] } = {},
): Promise<DevCertificates> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...(opts.hostnames ?? [])])];
  const paths = {
    caCertPath: join(dir, 'ca.crt'),
    caKeyPath: join(dir, 'ca.key'),
    certPath: join(dir, 'server.crt'),
    keyPath: join(dir, 'server.key'),
  };
  let caPem = await readIfExists(paths.caCertPath);
  if (!caPem || !(await readIfExists(paths.caKeyPath))) caPem = (await createCa(dir)).certPem;
  let certPem = await readIfExists(paths.certPath);
  let keyPem = await readIfExists(paths.keyPath);
  if (!certPem || !keyPem || !coversAll(certPem, caPem, names)) {
    ({ certPem, keyPem } = await issueServerCertificate(dir, join(dir, 'server'), names));
  }
  return { ...paths, caPem, certPem, keyPem };
}
