import { readFile } from 'node:fs/promises';
import type { RegressTree } from './tree.js';

/**
 * The core schedule: the first groups of parallel_schedule, unchanged, so every test runs
 * after the ones it depends on (test_setup's tables). Five groups: test_setup, tablespace,
 * the base types, the string/geometry/date-time types and the group with horology, about
 * 50 tests, many of them sensitive to the session's TimeZone, DateStyle and IntervalStyle.
 */
export async function coreSchedule(tree: RegressTree, groups = 5): Promise<{ text: string; tests: string[] }> {
  const lines = (await readFile(tree.schedule, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('test:'))
    .slice(0, groups);
  if (lines.length < groups) throw new Error(`${tree.schedule} has fewer than ${groups} groups`);
  const tests = lines.flatMap((l) => l.slice('test:'.length).trim().split(/\s+/));
  return { text: lines.join('\n') + '\n', tests };
}
