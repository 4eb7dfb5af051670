import { globMatch } from '../util/glob.js';

export interface DatabaseHome {
  name: string;
  database: string;
  databases: string[];
}

/**
 * Which target serves a database name a client asks for: a target's own name means its
 * database; otherwise exactly one target must list the name (an ambiguous name is unknown).
 */
export function resolveDatabase<T extends DatabaseHome>(
  targets: Iterable<T>,
  name: string,
  byName?: Map<string, T>,
): { target: T; database: string } | null {
  const all = [...targets];
  const direct = byName?.get(name) ?? all.find((t) => t.name === name);
  if (direct) return { target: direct, database: direct.database };
  const hits = all.filter((t) => t.databases.some((d) => globMatch(d, name)));
  return hits.length === 1 ? { target: hits[0]!, database: name } : null;
}
