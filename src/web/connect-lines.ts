import { formatPgpassLine } from '../util/pgpass.js';

/** Where clients connect, as the developer page and the CLI present it. */
export interface PgEndpoint {
  host: string;
  port: number;
  /**
   * The gateway's own path of the CA file clients should trust (the development CA), served
   * at /ca.crt and never shown; null when the certificate chains to a public CA.
   */
  caPath: string | null;
}

/** How a client checks the gateway's certificate. */
export type CaTrust = { kind: 'file'; clientPath: string } | { kind: 'system' };

export interface ConnectLines {
  psql: string;
  pgpass: string;
  uri: string;
  export: string;
  /** The sslmode/sslrootcert part, as conninfo keywords. */
  ssl: string;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A host name as a file-name part: letters, digits, dot and dash. */
const fileSafe = (host: string): string => host.replace(/[^A-Za-z0-9.-]/g, '_');

/** The CA's file name under ~/.postgresql, one per gateway host (as `pgward login` installs it). */
export const caFileName = (host: string): string => `pgward-${fileSafe(host)}-ca.crt`;

/**
 * The path the lines name when the reader installs the CA themselves: under $HOME, which a
 * shell expands inside the double quotes the lines use (libpq itself expands no ~ or $HOME).
 */
export const shownCaPath = (host: string): string => `$HOME/.postgresql/${caFileName(host)}`;

/** The trust a page shows: the CA file under the reader's home, or the system's roots. */
export const defaultTrust = (ep: PgEndpoint): CaTrust =>
  ep.caPath ? { kind: 'file', clientPath: shownCaPath(ep.host) } : { kind: 'system' };

/** The system's CA bundle where libpq before 16 needs it named: Debian/Ubuntu/Alpine, RHEL/Fedora, macOS. */
export const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];

/**
 * What sslrootcert says for a publicly trusted gateway on this client: `system` for libpq 16+
 * (or an unknown version), else the first system bundle that exists (an older libpq reads
 * `system` as a file name and fails).
 */
export function systemRootcert(psqlMajor: number | null, exists: (path: string) => boolean): string {
  if (psqlMajor === null || psqlMajor >= 16) return 'system';
  return SYSTEM_BUNDLES.find(exists) ?? 'system';
}

/** The two commands that put the gateway's CA where the lines expect it. */
export const caInstallLine = (consoleUrl: string, host: string): string =>
  `mkdir -p ~/.postgresql && curl -fsS ${consoleUrl}/ca.crt -o ~/.postgresql/${caFileName(host)}`;

/**
 * The four ways of handing a token to libpq, each ready to paste. `sslrootcert=system`
 * (libpq 16+) uses the system's roots; docs/connect.md says what older clients need.
 */
export function connectLines(
  ep: PgEndpoint,
  user: string,
  database: string,
  token: string,
  trust: CaTrust = defaultTrust(ep),
): ConnectLines {
  const root = trust.kind === 'file' ? trust.clientPath : 'system';
  const ssl = `sslmode=verify-full sslrootcert=${root}`;
  const conninfo = `host=${ep.host} port=${ep.port} dbname=${database} user=${user} ${ssl}`;
  // $HOME stays readable in the URI: pasted in double quotes, the shell expands it.
  const query = `sslmode=verify-full&sslrootcert=${encodeURIComponent(root)
    .replace(/^%24HOME/, '$HOME')
    .replace(/%2F/g, '/')}`;
  return {
    psql: `PGPASSWORD=${shellQuote(token)} psql "${conninfo}"`,
    pgpass: formatPgpassLine({ host: ep.host, port: String(ep.port), database: '*', user, password: token }),
    uri: `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(token)}@${ep.host}:${ep.port}/${encodeURIComponent(database)}?${query}`,
    export: `export PGPASSWORD=${shellQuote(token)} PGSSLMODE=verify-full PGSSLROOTCERT="${root}"`,
    ssl,
  };
}

/** The psql line without the token: for a client whose token is in ~/.pgpass or PGPASSWORD. */
export const psqlWithoutToken = (lines: ConnectLines): string => lines.psql.replace(/^PGPASSWORD='[^']*' /, '');
