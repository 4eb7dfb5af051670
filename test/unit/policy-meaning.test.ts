import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { formatProblem, parsePolicyDocuments } from '../../src/policy/loader.js';
import { policyContextOf } from '../../src/policy/policy-context.js';
import { closest } from '../../src/util/did-you-mean.js';

const config = configSchema.parse({
  targets: {
    demo: { host: 'localhost', database: 'demo', role: 'demo_app' },
    people: { host: 'localhost', database: 'hr', role: 'hr_app', personRoles: { enabled: true } },
  },
  policies: { knownGroups: ['developers', 'dbas'] },
});
const vault = [
  { target: 'demo', role: 'demo_app' },
  { target: 'demo', role: 'demo_ro' },
];
const context = policyContextOf(config, vault);

/** The problems (errors and warnings) of one document, as `pgward policy check` prints them. */
function check(yaml: string): { ok: boolean; lines: string[] } {
  const loaded = parsePolicyDocuments({ 'p.yaml': yaml }, null, context);
  return loaded.ok
    ? { ok: true, lines: loaded.warnings.map(formatProblem) }
    : { ok: false, lines: loaded.problems.map(formatProblem) };
}

const rule = (extra: string): string => `rules:
  - name: devs
    effect: allow
    subjects: { groups: [developers] }
${extra}`;

describe('policy names are checked for meaning', () => {
  it('a misspelled detector profile is an error at its line, with the profile meant', () => {
    const r = check(`profiles:
  default: { risks: { drop: block } }
${rule('    session: { detector: defualt }\n')}`);
    expect(r.ok).toBe(false);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^p\.yaml:7:\d+: rules\.0\.session\.detector: profile "defualt" is not defined \(did you mean "default"\?\)/,
      ),
    ]);
  });

  it('detector: none says on purpose that the grant has no detector actions', () => {
    expect(check(rule('    session: { detector: none }\n')).ok).toBe(true);
  });

  it('an unknown target is an error naming the target meant; * and configured targets pass', () => {
    const r = check(rule('    targets: [demoo]\n'));
    expect(r.ok).toBe(false);
    expect(r.lines[0]).toMatch(/^p\.yaml:5:\d+: rules\.0\.targets: unknown target "demoo" \(did you mean "demo"\?\)/);
    expect(check(rule('    targets: [demo, people]\n')).ok).toBe(true);
    expect(check(rule("    targets: ['*']\n")).ok).toBe(true);
  });

  it('a group outside policies.knownGroups is a warning with the group meant; the policy still loads', () => {
    const r = check(`rules:
  - name: devs
    effect: allow
    subjects: { groups: [developer] }
`);
    expect(r.ok).toBe(true);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^p\.yaml:4:\d+: warning: rules\.0\.subjects\.groups: group "developer" is not one of policies\.knownGroups \(did you mean "developers"\?\)/,
      ),
    ]);
  });

  it('console role groups count as known', () => {
    expect(check(`rules:\n  - name: a\n    effect: allow\n    subjects: { groups: [admins] }\n`).lines).toEqual([]);
  });

  it('a role with no credential for a target is a warning; person-role targets need none', () => {
    const r = check(rule('    targets: [demo]\n    role: demo_rw\n'));
    expect(r.ok).toBe(true);
    expect(r.lines[0]).toMatch(
      /warning: rules\.0\.role: "demo_rw" has no credential for target "demo" \(did you mean "demo_ro"\?\)/,
    );
    expect(check(rule('    targets: [people]\n    role: hr_ro\n')).lines).toEqual([]);
  });

  it('without a context (a version stored by another gateway) only profiles are checked', () => {
    const loaded = parsePolicyDocuments({ 'p.yaml': rule('    targets: [elsewhere]\n') });
    expect(loaded.ok).toBe(true);
  });
});

describe('misspelled keys', () => {
  it('efect: is reported as an unknown key, with effect meant, at the key', () => {
    const r = check(`rules:
  - name: devs
    efect: allow
    subjects: { users: ['*'] }
`);
    expect(r.ok).toBe(false);
    expect(r.lines).toEqual(['p.yaml:3:5: rules.0: unknown key "efect" (did you mean "effect"?)']);
  });

  it('a rule with no effect at all says it needs one', () => {
    const r = check(`rules:\n  - name: devs\n    subjects: { users: ['*'] }\n`);
    expect(r.lines[0]).toMatch(/rules\.0: every rule needs effect: allow or effect: deny/);
  });

  it('a wrong effect value names the values allowed', () => {
    const r = check(`rules:\n  - name: devs\n    effect: alow\n    subjects: { users: ['*'] }\n`);
    expect(r.lines[0]).toMatch(/effect must be allow or deny, not "alow" \(did you mean "allow"\?\)/);
  });

  it('an unknown nested key names the key meant at its own line', () => {
    const r = check(rule('    session: { readOnly: true, idleTimout: 5m }\n'));
    expect(r.ok).toBe(false);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^p\.yaml:5:\d+: rules\.0\.session: unknown key "idleTimout" \(did you mean "idleTimeout"\?\)/,
      ),
    ]);
  });

  it('an unknown top-level key names the key meant', () => {
    expect(check('rule: []\n').lines).toEqual(['p.yaml:1:1: unknown key "rule" (did you mean "rules"?)']);
  });
});

describe('closest', () => {
  it('finds a typo but not an unrelated word', () => {
    expect(closest('defualt', ['default', 'strict'])).toBe('default');
    expect(closest('zzz', ['default', 'strict'])).toBeUndefined();
    expect(closest('Demo', ['demo'])).toBe('demo');
  });
});
