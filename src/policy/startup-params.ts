import { PgError } from '../protocol/errors.js';
import { SqlState } from '../protocol/sqlstate.js';
import { printable, type StartupParams } from '../protocol/startup.js';

/**
 * Which client startup parameters reach the upstream session. Everything not listed is
 * refused: the upstream runs with the gateway's vaulted role, so a forwarded parameter
 * acts with that role's rights (PROTOCOL.md §6).
 */
const FORWARDED = new Set([
  'application_name',
  'client_encoding',
  'DateStyle',
  'datestyle',
  'TimeZone',
  'timezone',
  'IntervalStyle',
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

/** Handled by the gateway itself, never forwarded as-is. */
const GATEWAY_PARAMS = new Set(['user', 'database']);

/** Encodings where 0x5C can be a trail byte, so the client's and server's lexers disagree. */
const REFUSED_ENCODINGS = new Set(['sjis', 'shiftjis', 'big5', 'gbk', 'uhc', 'gb18030', 'johab']);

export interface StartupDecision {
  user: string;
  database: string;
  forward: Array<[string, string]>;
  /** `_pq_.*` protocol options to list in NegotiateProtocolVersion (never forwarded). */
  unsupportedOptions: string[];
  applicationName: string | null;
  /** The client asked to sign in through a browser link (PGOPTIONS='-c pgward.login=link'). */
  linkLogin: boolean;
}

/** The only setting pgward reads from `options`; nothing in it is forwarded. */
const LINK_LOGIN_OPTION = 'pgward.login=link';

/** Splits `options` on whitespace and accepts only pgward's own switch; any other setting is refused. */
function parseOptions(value: string): { linkLogin: boolean } {
  const words = value.trim().split(/\s+/).filter(Boolean);
  let linkLogin = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const setting = w === '-c' ? words[++i] : w.startsWith('-c') ? w.slice(2) : w.startsWith('--') ? w.slice(2) : undefined;
    if (setting !== LINK_LOGIN_OPTION) throw denied('options');
    linkLogin = true;
  }
  return { linkLogin };
}

const normalizeEncoding = (v: string): string => v.toLowerCase().replace(/[-_\s]/g, '');

const REPLICATION_VALUES = new Set(['true', 'on', 'yes', '1', 'false', 'off', 'no', '0', 'database']);

function denied(name: string): PgError {
  return new PgError(SqlState.insufficientPrivilege, `startup parameter "${printable(name)}" is not allowed through pgward`, {
    hint: 'Remove it from the connection string, or ask an administrator to allow it by policy.',
  });
}

/** Pure: decides every parameter before any byte reaches Postgres. */
export function decideStartupParams(params: StartupParams, user: string, database: string): StartupDecision {
  const forward: Array<[string, string]> = [];
  const unsupportedOptions: string[] = [];
  let applicationName: string | null = null;
  let linkLogin = false;
  for (const [name, value] of params) {
    if (GATEWAY_PARAMS.has(name)) continue;
    if (name.startsWith('_pq_.')) {
      unsupportedOptions.push(name);
      continue;
    }
    if (name === 'replication') {
      const v = value.toLowerCase();
      if (!REPLICATION_VALUES.has(v)) {
        throw new PgError(SqlState.invalidParameterValue, `invalid value for parameter "replication": "${printable(value)}"`, {
          hint: 'Valid values are: "false", 0, "true", 1, "database".',
        });
      }
      if (['false', 'off', 'no', '0'].includes(v)) continue;
      throw denied(name);
    }
    if (name === 'options') {
      linkLogin = parseOptions(value).linkLogin;
      continue;
    }
    if (!FORWARDED.has(name)) throw denied(name);
    if (name === 'client_encoding' && REFUSED_ENCODINGS.has(normalizeEncoding(value))) {
      throw new PgError(SqlState.featureNotSupported, `client_encoding "${printable(value)}" is not supported through pgward`, {
        hint: 'Use UTF8.',
      });
    }
    if (name === 'application_name') applicationName = printable(value);
    forward.push([name, value]);
  }
  return { user, database, forward, unsupportedOptions, applicationName, linkLogin };
}
