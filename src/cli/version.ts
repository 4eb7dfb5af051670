import { readFileSync } from 'node:fs';

/**
 * pgward's version, from its package.json: two levels up from src/cli (run from source),
 * three from dist/src/cli (the built bin).
 */
export function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'pgward' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}
