import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz as backendHandshake } from '../../fuzz/targets/backend-handshake.js';
import { fuzz as frontendFrames } from '../../fuzz/targets/frontend-frames.js';
import { fuzz as scramClient } from '../../fuzz/targets/scram-client.js';
import { fuzz as scramServer } from '../../fuzz/targets/scram-server.js';
import { fuzz as startupPacket } from '../../fuzz/targets/startup-packet.js';
import { buildFuzz, repoRoot, runFuzz, type FuzzSummary } from '../harness/fuzz.js';

describe('fuzz/run.js finds crashes by coverage guidance', () => {
  let out = '';
  let work = '';
  let fixture = '';
  let guided: FuzzSummary | null = null;

  beforeAll(async () => {
    out = await buildFuzz();
    fixture = join(out, 'fuzz', 'fixtures', 'prefix-trap.js');
    work = await mkdtemp(join(tmpdir(), 'pgward-fuzz-runner-'));
    await mkdir(join(work, 'corpus', 'prefix-trap'), { recursive: true });
    await writeFile(join(work, 'corpus', 'prefix-trap', 'seed.bin'), 'AAAA');
  }, 60_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('reaches a TypeError three nested branches deep, saves the input and exits 1', async () => {
    const crashes = join(work, 'guided-crashes');
    const run = await runFuzz(out, [
      fixture,
      '--seed',
      '1',
      '--runs',
      '500000',
      '--seconds',
      '40',
      '--corpus',
      join(work, 'corpus'),
      '--crashes',
      crashes,
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('TypeError: reached the trap');
    const files = await readdir(crashes);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^prefix-trap-[0-9a-f]{40}\.bin$/);
    const input = await readFile(join(crashes, files[0]!));
    expect(input.subarray(0, 3).toString('latin1')).toBe('fz!');
    guided = run.summary;
    expect(guided?.crash).toBe(join(crashes, files[0]!));
    // Each byte of the prefix opened a new block, and each of those inputs was kept.
    expect(guided!.corpusEnd).toBeGreaterThanOrEqual(guided!.corpusStart + 2);

    const replay = await runFuzz(out, [fixture, '--replay', join(crashes, files[0]!)]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain('TypeError: reached the trap');
  }, 60_000);

  it('does not find it blind (the same mutations, nothing kept) in as many runs', async () => {
    expect(guided).not.toBeNull();
    const crashes = join(work, 'blind-crashes');
    const runs = String(guided!.tried);
    const run = await runFuzz(out, [
      fixture,
      '--blind',
      '--seed',
      '1',
      '--runs',
      runs,
      '--seconds',
      '40',
      '--corpus',
      join(work, 'corpus'),
      '--crashes',
      crashes,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary!.tried).toBe(Number(runs));
    expect(run.summary!.corpusEnd).toBe(1);
  }, 60_000);
});

describe('fuzz targets', () => {
  const targets = {
    'backend-handshake': backendHandshake,
    'frontend-frames': frontendFrames,
    'scram-client': scramClient,
    'scram-server': scramServer,
    'startup-packet': startupPacket,
  };

  it.each(Object.entries(targets))(
    '%s: every committed corpus input (seeds and past crashes) runs clean',
    (name, fuzz) => {
      const dir = join(repoRoot, 'fuzz', 'corpus', name);
      const files = readdirSync(dir);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(() => fuzz(readFileSync(join(dir, file))), file).not.toThrow();
    },
  );
});
