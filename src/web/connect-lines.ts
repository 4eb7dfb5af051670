import { formatPgpassLine } from '../util/pgpass.js';

/** Where clients connect, as the developer page and the CLI present it. */
export interface PgEndpoint {
  host: string;
  port: number;
  /** Path of a CA file clients should trust (the development CA), or null for a public CA. */
  caPath: string | null;
}

export interface ConnectLines {
  psql: string;
  pgpass: string;
  uri: string;
  export: string;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The four ways of handing a token to libpq, each ready to paste. */
export function connectLines(ep: PgEndpoint, user: string, database: string, token: string): ConnectLines {
  const ssl = ep.caPath ? `sslmode=verify-full sslrootcert=${ep.caPath}` : 'sslmode=verify-full';
  const conninfo = `host=${ep.host} port=${ep.port} dbname=${database} user=${user} ${ssl}`;
  const query = ep.caPath ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(ep.caPath)}` : 'sslmode=verify-full';
  return {
    psql: `PGPASSWORD=${shellQuote(token)} psql "${conninfo}"`,
    pgpass: formatPgpassLine({ host: ep.host, port: String(ep.port), database: '*', user, password: token }),
    uri: `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(token)}@${ep.host}:${ep.port}/${encodeURIComponent(database)}?${query}`,
    export: `export PGPASSWORD=${shellQuote(token)}`,
  };
}
