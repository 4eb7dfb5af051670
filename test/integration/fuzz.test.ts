import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFuzz, runFuzz, type FuzzRun } from '../harness/fuzz.js';

const TARGETS = [
  'backend-handshake',
  'frontend-frames',
  'scram-client',
  'scram-server',
  'startup-packet',
  'statement-text',
  'proxy-header',
];
/** What `npm run fuzz:ci` passes: a fixed seed and a short time bound per target. */
const CI_ARGS = ['--seed', '1', '--seconds', '6'];

describe('coverage-guided fuzzing, the CI run (npm run fuzz:ci)', () => {
  let out = '';
  let crashes = '';
  const runs = new Map<string, FuzzRun>();

  beforeAll(async () => {
    out = await buildFuzz();
    crashes = await mkdtemp(join(tmpdir(), 'pgward-fuzz-crashes-'));
    // Two at a time: the machines this runs on have two cores.
    const queue = [...TARGETS];
    const worker = async (): Promise<void> => {
      for (let t = queue.shift(); t; t = queue.shift())
        runs.set(t, await runFuzz(out, [t, ...CI_ARGS, '--crashes', crashes]));
    };
    await Promise.all([worker(), worker()]);
    // The build and the runs (each bounded by --seconds) take longer on a busy machine.
  }, 300_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
    await rm(crashes, { recursive: true, force: true });
  });

  it.each(TARGETS)('%s: no crash, and coverage grows past the seed corpus', (target) => {
    const run = runs.get(target)!;
    expect(run.code, run.stderr).toBe(0);
    const s = run.summary!;
    expect(s.crash).toBeNull();
    expect(s.tried).toBeGreaterThan(1_000);
    // New (block, hit-count bucket) features, and the inputs that found them kept.
    expect(s.featuresEnd).toBeGreaterThan(s.featuresStart);
    expect(s.corpusEnd).toBeGreaterThan(s.corpusStart);
  });

  it('leaves no crash file', async () => {
    expect(await readdir(crashes)).toEqual([]);
  });
});
