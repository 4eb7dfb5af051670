import { describe, expect, it } from 'vitest';
import { previewMasking } from '../../src/mask/preview.js';
import { maskingSchema } from '../../src/policy/masking-schema.js';

describe('masking preview', () => {
  it('masks a sample as a session would see it, and counts what it masked', () => {
    const rules = maskingSchema.parse({
      columns: [{ column: 'public.*.email', strategy: 'email-domain' }],
      values: [{ value: 'payment-card', strategy: 'keep-last', keep: 4 }],
    });
    const p = previewMasking(
      rules,
      ['public.customers.email', 'notes', 'public.customers.name'],
      [
        ['alice@example.com', 'card 4111 1111 1111 1111', 'Alice'],
        [null, 'nothing', 'Bob'],
      ],
      Buffer.from('k'),
    );
    expect(p.columns.map((c) => c.strategy)).toEqual(['email-domain', null, null]);
    expect(p.rows).toEqual([
      ['a***@example.com', 'card ***************1111', 'Alice'],
      [null, 'nothing', 'Bob'],
    ]);
    expect(p.masked).toEqual({ 'public.customers.email': 1, 'payment-card': 1 });
  });
});

describe('masking preview API route', () => {
  it('masks a sample by the rule named in the documents being edited', async () => {
    const { default: Fastify } = await import('fastify');
    const { registerMaskingRoutes } = await import('../../src/web/console-api-masking.js');
    const { parseConfig } = await import('../../src/config/load.js');
    const app = Fastify();
    const config = parseConfig({
      targets: { crm: { host: '127.0.0.1', port: 5432, database: 'crm', role: 'crm_ro' } },
    });
    const ctx = { config, store: { listVaultEntries: async () => [{ target: 'crm', role: 'crm_ro' }] } };
    registerMaskingRoutes(app, ctx as unknown as Parameters<typeof registerMaskingRoutes>[1]);
    const documents = {
      'p.yaml': `rules:
  - name: support
    effect: allow
    subjects: { groups: [support] }
    targets: [crm]
    session:
      masking:
        columns: [{ column: 'public.customers.email', strategy: email-domain }]
  - name: admins
    effect: allow
    subjects: { groups: [admins] }
    targets: [crm]
`,
    };
    const ask = (rule: string) =>
      app.inject({
        method: 'POST',
        url: '/api/policy/masking-preview',
        payload: { documents, rule, columns: ['public.customers.email'], rows: [['alice@example.com']] },
      });
    const masked = await ask('support');
    expect(masked.statusCode).toBe(200);
    expect(masked.json()).toMatchObject({
      masking: true,
      after: [['a***@example.com']],
      before: [['alice@example.com']],
    });
    expect((await ask('admins')).json()).toMatchObject({ masking: false, after: [['alice@example.com']] });
    expect((await ask('nobody')).statusCode).toBe(404);
    await app.close();
  });
});
