import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { policyCheck, policyExplain } from '../../src/cli/policy-commands.js';
import { policyJsonSchema } from '../../src/policy/schema.js';

/** Captures what a command prints, as a user at a terminal would see it. */
function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}
afterEach(() => vi.restoreAllMocks());

const emptyConfig = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'pgward-cli-'));
  const path = join(dir, 'pgward.yaml');
  await writeFile(path, 'targets:\n  demo: { host: db, database: demo, role: demo_app }\n');
  return path;
};

describe('pgward policy', () => {
  it('ships a JSON Schema that matches the code (regenerate with: pgward policy schema policies/policy.schema.json)', async () => {
    expect(JSON.parse(await readFile('policies/policy.schema.json', 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(policyJsonSchema())),
    );
  });

  it('check: OK for the shipped policies, FILE:LINE:COLUMN for a broken one', async () => {
    const cfg = await emptyConfig();
    let io = capture();
    expect(await policyCheck(cfg, 'policies')).toBe(true);
    expect(io.out()).toMatch(/policies: 2 rules \(2 allow, 0 deny\) in 1 files: OK\n$/);
    vi.restoreAllMocks();

    const dir = await mkdtemp(join(tmpdir(), 'pgward-pol-'));
    await writeFile(
      join(dir, 'x.yaml'),
      'rules:\n  - name: a\n    effect: allow\n    subjects: { groups: [g] }\n    sources: [300.1.1.1]\n',
    );
    io = capture();
    expect(await policyCheck(cfg, dir)).toBe(false);
    expect(io.err()).toBe(`${join(dir, 'x.yaml')}:5:15: rules.0.sources.0: not an IP address or CIDR range\n`);
  });

  it('explain: prints the grant with its session rules, or the denial with what the client would see', async () => {
    const cfg = await emptyConfig();
    let io = capture();
    const g = await policyExplain(cfg, {
      user: 'alice',
      groups: 'developers',
      database: 'demo',
      dir: 'policies',
      param: ['application_name=psql'],
    });
    expect(g.kind).toBe('grant');
    expect(io.out()).toBe(
      [
        'GRANT by rule developers-read-demo (demo.yaml, files)',
        '  upstream: target demo, database demo, role demo_ro',
        '  session: read-only, max duration 8h, idle timeout 30m, detector default',
        '  forwarded parameters: application_name=psql default_transaction_read_only=on',
        '',
      ].join('\n'),
    );
    vi.restoreAllMocks();
    io = capture();
    const d = await policyExplain(cfg, { user: 'carol', groups: 'auditors', database: 'demo', dir: 'policies' });
    expect(d.kind).toBe('deny');
    expect(io.out()).toContain('the client sees: FATAL 28000 pgward: user "carol" has no access to database "demo"');
  });
});
