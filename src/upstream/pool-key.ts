/**
 * Which warm pool an upstream connection belongs to: connections are interchangeable only
 * within one (target, role, database, read-only, startup settings), since each logs in as
 * that role to that database with those settings as startup parameters. Opened that way,
 * RESET and DISCARD ALL return a backend to exactly what the client connected with.
 */
export interface PoolKey {
  target: string;
  /**
   * The role the connections log in as: the granted role, or with personRoles the person's
   * own login for it (`alice:demo_ro`), which makes every pool one person's.
   */
  role: string;
  database: string;
  readOnly: boolean;
  /** The startup settings the connections are opened with, sorted by name (see poolSettings). */
  settings: ReadonlyArray<readonly [string, string]>;
}

/** A session's forwarded startup settings in the one order pools compare them (names are distinct). */
export function poolSettings(forward: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  return forward.map(([k, v]): [string, string] => [k, v]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Map key of a pool (NUL cannot occur in a target, role, database name or setting). */
export function poolKeyId(key: PoolKey): string {
  const settings = key.settings.map(([k, v]) => `${k}=${v}`).join('\0');
  return `${key.target}\0${key.role}\0${key.database}\0${key.readOnly ? 'ro' : 'rw'}${settings ? `\0${settings}` : ''}`;
}
