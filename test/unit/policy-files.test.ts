import { describe, expect, it } from 'vitest';
import { formatProblem, loadPolicyDir, parsePolicyDocuments } from '../../src/policy/loader.js';
import { parseOptions, splitOptions } from '../../src/policy/options.js';
import { policyJsonSchema } from '../../src/policy/schema.js';
import { policyDiff, policyDigest } from '../../src/policy/versioning.js';

describe('options, split as pg_split_opts does', () => {
  it.each([
    ['-c a=b   -c  c=d', ['-c', 'a=b', '-c', 'c=d']],
    ['-c search_path=a\\ b', ['-c', 'search_path=a b']],
    ['-c x=back\\\\slash', ['-c', 'x=back\\slash']],
    ['\t-cfoo=1\n', ['-cfoo=1']],
  ])('%j', (input, words) => {
    expect(splitOptions(input)).toEqual(words);
  });

  it('reads -c, attached -c and --name=value, turning - into _ in names', () => {
    expect(parseOptions('-c a=1 -cb=2 --work-mem=64MB')).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['work_mem', '64MB'],
    ]);
  });

  it.each(['-P', '-B 1', '-c', '-c novalue', 'bare'])('refuses %j', (v) => {
    expect(() => parseOptions(v)).toThrow();
  });
});

describe('policy files', () => {
  it('loads the shipped example policies', async () => {
    const loaded = await loadPolicyDir('policies');
    expect(loaded.ok).toBe(true);
    if (loaded.ok)
      expect(loaded.set.rules.map((r) => r.rule.name)).toEqual(['developers-read-demo', 'admins-write-demo']);
  });

  it('reports problems with file, line and column, and rejects the whole set', () => {
    const loaded = parsePolicyDocuments({
      'a.yaml': 'rules:\n  - name: ok\n    effect: allow\n    subjects: { users: [x] }\n',
      'b.yaml':
        'rules:\n  - name: bad\n    effect: allow\n    subjects: { users: [x] }\n    sources: [10.0.0.0/33]\n    schedule: { timezone: Mars/Olympus, from: "25:00", to: "06:00" }\n',
      'c.yaml': 'rules:\n  - name: ok\n    effect: deny\n    subjects: { groups: [g] }\n',
      'd.yaml': 'rules: [\n',
      'e.yaml': 'rules:\n  - name: nobody\n    effect: deny\n    subjects: {}\n',
    });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems.map(formatProblem)).toEqual([
      'b.yaml:5:15: rules.0.sources.0: not an IP address or CIDR range',
      'b.yaml:6:47: rules.0.schedule.from: a time of day as HH:MM (24-hour)',
      'b.yaml:6:27: rules.0.schedule.timezone: unknown time zone',
      'c.yaml:2:11: rule name "ok" is also used in a.yaml',
      expect.stringMatching(/^d\.yaml:2:1: Flow sequence/),
      'e.yaml:4:15: rules.0.subjects: name at least one of users, groups or claims (users: ["*"] for everyone)',
    ]);
  });

  it('exports a JSON Schema editors can use', () => {
    const schema = policyJsonSchema() as { properties: { rules: { items: unknown } } };
    expect(JSON.stringify(schema.properties.rules.items)).toContain('"effect"');
  });

  it('versions: a digest that ignores nothing and a unified diff per file', () => {
    const a = { 'x.yaml': 'rules: []\n' };
    const b = { 'x.yaml': 'rules:\n  - name: n\n', 'y.yaml': 'rules: []\n' };
    expect(policyDigest(a)).not.toBe(policyDigest(b));
    expect(policyDigest({ ...a })).toBe(policyDigest(a));
    const diff = policyDiff(a, b);
    expect(diff).toContain('--- a/x.yaml');
    expect(diff).toContain('+  - name: n');
    expect(diff).toContain('--- /dev/null');
    expect(diff).toContain('+++ b/y.yaml');
  });
});
