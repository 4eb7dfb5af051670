import type { Risk } from '../policy/profiles.js';

/**
 * What calling a function by name means to the detector: the same sets serve a call in SQL
 * text (FuncCall) and a FunctionCall protocol message (named from its OID).
 */

const FILE_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_file_old',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
]);
const LO_FUNCTIONS = new Set([
  'lo_import',
  'lo_export',
  'lo_open',
  'lo_close',
  'lo_get',
  'lo_put',
  'lo_from_bytea',
  'lo_unlink',
  'lo_create',
  'lo_creat',
  'loread',
  'lowrite',
  'lo_lseek',
  'lo_lseek64',
  'lo_tell',
  'lo_tell64',
  'lo_truncate',
  'lo_truncate64',
]);
const REMOTE = /^(dblink|dblink_exec|dblink_connect|dblink_connect_u|dblink_open|dblink_send_query|postgres_fdw_.*)$/;

/**
 * Functions that run SQL text given to them (so the text, not the call, says what runs):
 * query_to_xml and its two schema forms, ts_stat, ts_rewrite's query form, and the
 * contrib ones (dblink, tablefunc's crosstab and connectby, xml2's xpath_table). cursor_to_xml
 * reads a cursor the session declared in plain SQL; table/schema/database_to_xml read
 * relations by name: none of them takes SQL text.
 */
const DYNAMIC_SQL = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'ts_stat',
  'dblink',
  'dblink_exec',
  'dblink_open',
  'dblink_send_query',
  'crosstab',
  'crosstab2',
  'crosstab3',
  'crosstab4',
  'connectby',
  'xpath_table',
]);
/** Argument positions (0-based) that hold SQL text, for those whose text pgward reads. */
const SQL_TEXT_ARGS: Record<string, (argc: number) => number[]> = {
  query_to_xml: () => [0],
  query_to_xmlschema: () => [0],
  query_to_xml_and_xmlschema: () => [0],
  ts_stat: () => [0],
  ts_rewrite: (n) => (n === 2 ? [1] : []),
  // dblink(sql), dblink(sql, fail) or dblink(connection, sql[, fail]): a position that is
  // not SQL text does not parse and adds nothing.
  dblink: (n) => (n === 1 ? [0] : [0, 1]),
  dblink_exec: (n) => (n === 1 ? [0] : [0, 1]),
  // dblink_open([connection,] cursor, sql[, fail]).
  dblink_open: (n) => (n === 2 ? [1] : [1, 2]),
  dblink_send_query: () => [1],
  crosstab: (n) => (n >= 2 ? [0, 1] : [0]),
  crosstab2: () => [0],
  crosstab3: () => [0],
  crosstab4: () => [0],
};

/** Functions that signal another server process (end its session, cancel its query, make it log). */
const SIGNAL = new Set(['pg_terminate_backend', 'pg_cancel_backend', 'pg_log_backend_memory_contexts']);

/**
 * Built-in functions that write (sequences, large objects): Postgres refuses them in a
 * read-only transaction, so a read-only session loses nothing when pgward treats a
 * statement calling them as a write.
 */
const WRITE_FUNCTIONS = new Set([
  'nextval',
  'setval',
  'lo_import',
  'lo_unlink',
  'lo_create',
  'lo_creat',
  'lowrite',
  'lo_put',
  'lo_from_bytea',
  'lo_truncate',
  'lo_truncate64',
]);

/** The risks of calling a function by this (unqualified, lower-case) name. */
export function functionRisks(name: string, argc = 0): Risk[] {
  const risks: Risk[] = [];
  if (FILE_FUNCTIONS.has(name)) risks.push('server-file-function');
  if (LO_FUNCTIONS.has(name)) risks.push('large-object-function');
  if (REMOTE.test(name)) risks.push('remote-access');
  if (DYNAMIC_SQL.has(name) || (name === 'ts_rewrite' && argc === 2)) risks.push('dynamic-sql');
  if (SIGNAL.has(name)) risks.push('signal-backend');
  return risks;
}

/** Which arguments of a call hold SQL text that will run (empty for most functions). */
export function sqlTextArgs(name: string, argc: number): number[] {
  return SQL_TEXT_ARGS[name]?.(argc) ?? [];
}

export function functionWrites(name: string): boolean {
  return WRITE_FUNCTIONS.has(name);
}

/** The settings whose change makes a session or a transaction writable. */
export const READ_ONLY_SETTINGS = new Set(['default_transaction_read_only', 'transaction_read_only']);
