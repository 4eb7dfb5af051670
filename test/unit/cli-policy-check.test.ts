import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { policyCheck } from '../../src/cli/policy-commands.js';

/** What `pgward policy check` prints, as a terminal or a script reading --json sees it. */
function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}
afterEach(() => vi.restoreAllMocks());

async function setup(rule: string): Promise<{ config: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'pgward-check-'));
  const config = join(root, 'pgward.yaml');
  await writeFile(
    config,
    'targets:\n  demo: { host: db, database: demo, role: demo_app }\npolicies: { knownGroups: [developers] }\n',
  );
  const dir = join(root, 'policies');
  await (await import('node:fs/promises')).mkdir(dir);
  await writeFile(join(dir, 'p.yaml'), `rules:\n  - name: r\n    effect: allow\n${rule}`);
  return { config, dir };
}

describe('pgward policy check', () => {
  it("checks names against the configuration's targets, as the gateway does: a typo is an error with a did-you-mean", async () => {
    const { config, dir } = await setup('    subjects: { groups: [developers] }\n    targets: [demoo]\n');
    const io = capture();
    expect(await policyCheck(config, dir)).toBe(false);
    expect(io.err()).toBe(
      `${join(dir, 'p.yaml')}:5:15: rules.0.targets: unknown target "demoo" (did you mean "demo"?); targets are the names under targets: in the gateway configuration\n`,
    );
  });

  it('prints warnings and still passes; --json gives every problem with its severity', async () => {
    const { config, dir } = await setup('    subjects: { groups: [developer] }\n    targets: [demo]\n');
    let io = capture();
    expect(await policyCheck(config, dir)).toBe(true);
    expect(io.out()).toBe(`${dir}: 1 rules (1 allow, 0 deny) in 1 files: OK, 1 warning(s)\n`);
    expect(io.err()).toMatch(/p\.yaml:4:26: warning: rules\.0\.subjects\.groups: group "developer" is not one of/);
    vi.restoreAllMocks();
    io = capture();
    expect(await policyCheck(config, dir, { json: true })).toBe(true);
    expect(JSON.parse(io.out())).toMatchObject({
      dir,
      ok: true,
      files: 1,
      rules: 1,
      problems: [{ file: join(dir, 'p.yaml'), line: 4, column: 26, severity: 'warning' }],
    });
  });
});
