/**
 * Which warm pool an upstream connection belongs to: connections are interchangeable only
 * within one (target, role, database, read-only), since each logs in as that role to that
 * database with that startup setting.
 */
export interface PoolKey {
  target: string;
  role: string;
  database: string;
  readOnly: boolean;
}

/** The Map key of a pool (NUL cannot occur in a target, role or database name). */
export function poolKeyId(key: PoolKey): string {
  return `${key.target}\0${key.role}\0${key.database}\0${key.readOnly ? 'ro' : 'rw'}`;
}
