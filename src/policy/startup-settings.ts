import { PgError } from '../protocol/errors.js';
import { SqlState } from '../protocol/sqlstate.js';
import { CONFUSABLE_ENCODINGS, resolveEncoding } from '../protocol/encoding-names.js';
import { printable, type StartupParams } from '../protocol/startup.js';
import { OptionsError, parseOptions } from './options.js';

/**
 * What a startup packet asks of the session, read before authentication: every setting
 * with its effective value (what Postgres would apply), plus the few parameters that are
 * not settings. Policy judges this after authentication; nothing here is forwarded as-is.
 */
export interface StartupSettings {
  /** Setting name (lower case, as GUC names compare) → the value that takes effect. */
  effective: Map<string, string>;
  /** Names set more than once (across `options` and top-level parameters). */
  duplicated: Set<string>;
  /** The `replication` parameter when it asks for walsender mode, else null. */
  replication: string | null;
  /** `_pq_.*` protocol options to list in NegotiateProtocolVersion (never forwarded). */
  unsupportedOptions: string[];
  /** The client asked to sign in through a browser link (PGOPTIONS='-c pgward.login=link'). */
  linkLogin: boolean;
  applicationName: string | null;
}

/** Settings every grant allows: what psql, libpq, JDBC and node-postgres send on their own. */
export const BASELINE_SETTINGS = new Set([
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'geqo',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
]);

const REPLICATION_VALUES = new Set(['true', 'on', 'yes', '1', 'false', 'off', 'no', '0', 'database']);
const REPLICATION_OFF = new Set(['false', 'off', 'no', '0']);

export function notAllowed(name: string): PgError {
  return new PgError(
    SqlState.insufficientPrivilege,
    `startup parameter "${printable(name)}" is not allowed through pgward`,
    {
      hint: 'Remove it from the connection string, or ask an administrator to allow it by policy.',
    },
  );
}

/** Pure: reads the parameters; refuses only what no policy could make sense of. */
export function readStartupSettings(params: StartupParams): StartupSettings {
  const fromOptions: Array<[string, string]> = [];
  const topLevel: Array<[string, string]> = [];
  const unsupportedOptions: string[] = [];
  let replication: string | null = null;
  let linkLogin = false;
  for (const [name, value] of params) {
    if (name === 'user' || name === 'database') continue;
    if (name.startsWith('_pq_.')) {
      unsupportedOptions.push(name);
      continue;
    }
    if (name === 'replication') {
      const v = value.toLowerCase();
      if (!REPLICATION_VALUES.has(v)) {
        throw new PgError(
          SqlState.invalidParameterValue,
          `invalid value for parameter "replication": "${printable(value)}"`,
          {
            hint: 'Valid values are: "false", 0, "true", 1, "database".',
          },
        );
      }
      replication = REPLICATION_OFF.has(v) ? null : v;
      continue;
    }
    if (name === 'options') {
      let settings: Array<[string, string]>;
      try {
        settings = parseOptions(value);
      } catch (err) {
        if (err instanceof OptionsError) throw notAllowed('options');
        throw err;
      }
      for (const [n, v] of settings) {
        // pgward's own switch: read here, never forwarded.
        if (n.toLowerCase() === 'pgward.login') {
          if (v !== 'link') throw notAllowed('options');
          linkLogin = true;
        } else fromOptions.push([n.toLowerCase(), v]);
      }
      continue;
    }
    topLevel.push([name.toLowerCase(), value]);
  }
  // The backend applies `options` first, then the top-level settings: the last one wins.
  const effective = new Map<string, string>();
  const duplicated = new Set<string>();
  for (const [n, v] of [...fromOptions, ...topLevel]) {
    if (effective.has(n)) duplicated.add(n);
    effective.set(n, v);
  }
  const encoding = effective.get('client_encoding');
  const resolved = encoding === undefined ? null : resolveEncoding(encoding);
  if (encoding !== undefined && resolved !== null && CONFUSABLE_ENCODINGS.has(resolved)) {
    throw new PgError(
      SqlState.featureNotSupported,
      `client_encoding "${printable(encoding)}" is not supported through pgward`,
      {
        detail: `It is ${resolved}, where the second byte of a character can be a backslash or a quote.`,
        hint: 'Use UTF8.',
      },
    );
  }
  const app = effective.get('application_name');
  return {
    effective,
    duplicated,
    replication,
    unsupportedOptions,
    linkLogin,
    applicationName: app === undefined ? null : printable(app),
  };
}
