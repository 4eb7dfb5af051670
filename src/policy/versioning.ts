import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';

/** A stable digest of a set of policy documents (names and contents). */
export function policyDigest(documents: Record<string, string>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(documents).sort()) {
    h.update(name).update('\0').update(documents[name]!).update('\0');
  }
  return h.digest('hex');
}

/** A unified diff from one set of documents to the next, file by file. */
export function policyDiff(before: Record<string, string> | null, after: Record<string, string>): string {
  const prev = before ?? {};
  const names = [...new Set([...Object.keys(prev), ...Object.keys(after)])].sort();
  const parts: string[] = [];
  for (const n of names) {
    const a = prev[n];
    const b = after[n];
    if (a === b) continue;
    parts.push(
      createTwoFilesPatch(
        a === undefined ? '/dev/null' : `a/${n}`,
        b === undefined ? '/dev/null' : `b/${n}`,
        a ?? '',
        b ?? '',
        '',
        '',
        { context: 3 },
      ),
    );
  }
  return parts.join('');
}
