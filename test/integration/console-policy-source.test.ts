import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../harness/eventually.js';
import { EVERYONE_POLICY, startTestGateway, type TestGateway } from '../harness/gateway.js';
import { signInAs } from './console-signin.js';

/*
 * One source of truth for policies (issue 14, finding 9): a deny rule saved in the console
 * used to vanish when a comment was added to a policy file. While files feed the policy, the
 * console now refuses the save and says why; the files stay the policy.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
});
afterAll(async () => {
  await gw?.close();
});

const DENY_MALLORY = `${EVERYONE_POLICY}  - name: no-mallory\n    effect: deny\n    subjects: { users: [mallory] }\n`;

async function api(method: 'GET' | 'POST', path: string, s: { cookie: string; csrf: string }, body?: unknown) {
  const res = await fetch(gw.web!.url + path, {
    method,
    headers: {
      cookie: s.cookie,
      'x-csrf-token': s.csrf,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('policies: files or the store, never both silently', () => {
  it('with policy files feeding the store, a console save is refused with the reason, and a file edit applies', async () => {
    const bob = await signInAs(gw, 'bob', ['admins']);
    const inForce = await api('GET', '/api/policy', bob);
    expect(inForce.json['source']).toBe('files');
    const reason = inForce.json['readOnly'] as string;
    expect(reason).toMatch(/^The policy in force \(version \d+\) was loaded from policy files by .+ \(files\)\. /);
    expect(reason).toContain('Edit the files in policies.dir instead');

    const save = await api('POST', '/api/policy', bob, { documents: { 'everyone.yaml': DENY_MALLORY } });
    expect(save).toEqual({ status: 409, json: { error: reason } });
    const rollback = await api('POST', '/api/policy/rollback', bob, { version: 1 });
    expect(rollback.status).toBe(409);
    // Checking a draft and its diff still work: they change nothing.
    const check = await api('POST', '/api/policy/validate', bob, { documents: { 'everyone.yaml': DENY_MALLORY } });
    expect(check.json).toMatchObject({ ok: true, rules: 2 });

    // The edit goes where it lasts: the file. A later comment keeps it.
    const file = join(gw.policyDir, 'everyone.yaml');
    await appendFile(file, '  - name: no-mallory\n    effect: deny\n    subjects: { users: [mallory] }\n');
    await eventually(() => expect(gw.policy.current().rules.map((r) => r.rule.name)).toContain('no-mallory'));
    await appendFile(file, '# reviewed\n');
    await eventually(async () => {
      const { rows } = await gw.cp.store.sql.query<{ source: string; documents: Record<string, string> }>(
        'select source, documents from policy_versions order by id desc limit 1',
      );
      expect(rows[0]?.documents['everyone.yaml']).toContain('# reviewed');
    });
    expect(gw.policy.current().rules.map((r) => r.rule.name)).toEqual(['everyone', 'no-mallory']);
    const { rows } = await gw.cp.store.sql.query<{ source: string }>('select distinct source from policy_versions');
    expect(rows.map((r) => r.source)).toEqual(['files']);
  });
});
