import { describe, expect, it } from 'vitest';
import { policyDocumentSchema } from '../../src/policy/schema.js';
import {
  compileValueRule,
  ibanValid,
  keyedHash,
  luhn,
  maskRecognised,
  maskValue,
  nirValid,
} from '../../src/mask/maskers.js';

const key = Buffer.from('k'.repeat(32));

describe('maskers', () => {
  it('masks whole values by strategy', () => {
    expect(maskValue('alice@example.com', { strategy: 'email-domain' }, key)).toBe('a***@example.com');
    expect(maskValue('no-at-sign', { strategy: 'email-domain' }, key)).toBe('***');
    expect(maskValue('4111111111111111', { strategy: 'keep-last', keep: 4 }, key)).toBe('************1111');
    expect(maskValue('abc', { strategy: 'keep-last', keep: 4 }, key)).toBe('***');
    expect(maskValue('x', { strategy: 'redact' }, key)).toBe('***');
    expect(maskValue('x', { strategy: 'redact', text: '[hidden]' }, key)).toBe('[hidden]');
    expect(maskValue('x', { strategy: 'null' }, key)).toBeNull();
    // Stable per key, different across keys, and not the value.
    const h = maskValue('alice@example.com', { strategy: 'hash' }, key);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(maskValue('alice@example.com', { strategy: 'hash' }, key)).toBe(h);
    expect(keyedHash('alice@example.com', Buffer.from('other'))).not.toBe(h);
  });

  it('checks card, IBAN and NIR numbers', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
    expect(nirValid('255081416802538')).toBe(true);
    expect(nirValid('255081416802539')).toBe(false);
  });

  it('recognises values inside text and leaves look-alikes', () => {
    const rules = [
      compileValueRule({ value: 'email', strategy: 'email-domain' }),
      compileValueRule({ value: 'payment-card', strategy: 'keep-last', keep: 4 }),
      compileValueRule({ value: 'iban', strategy: 'redact' }),
      // Specific recognisers first: a phone's shape also fits an SSN.
      compileValueRule({ value: 'us-ssn', strategy: 'redact' }),
      compileValueRule({ value: 'phone', strategy: 'keep-last', keep: 2 }),
      compileValueRule({ pattern: 'ACME-\\d{6}', name: 'acme-id', strategy: 'hash' }),
    ];
    const hits = new Map<string, number>();
    const out = maskRecognised(
      'mail bob@corp.example.org, card 4111 1111 1111 1111, iban GB82WEST12345698765432, call +33 6 12 34 56 78, ssn 123-45-6789, ref ACME-123456',
      rules,
      key,
      hits,
    );
    expect(out).toContain('b***@corp.example.org');
    expect(out).toContain('***************1111');
    expect(out).not.toContain('GB82WEST');
    expect(out).toContain('78');
    expect(out).not.toContain('12 34 56');
    expect(out).not.toContain('123-45-6789');
    expect(out).not.toContain('ACME-123456');
    expect(Object.fromEntries(hits)).toEqual({
      email: 1,
      'payment-card': 1,
      iban: 1,
      phone: 1,
      'us-ssn': 1,
      'acme-id': 1,
    });
    // Not a card (Luhn fails), not a phone (a bare id), not an email.
    expect(maskRecognised('order 4111111111111112 id 123456789012 at example.com', rules, key)).toBeNull();
  });
});

describe('masking policy schema', () => {
  const doc = (masking: unknown) => ({
    rules: [{ name: 'r', effect: 'allow', subjects: { users: ['*'] }, session: { masking } }],
  });

  it('accepts column, label and value rules', () => {
    const r = policyDocumentSchema.safeParse(
      doc({
        columns: [
          { column: 'public.customers.email', strategy: 'email-domain' },
          { label: 'pii', strategy: 'hash' },
        ],
        labels: { pii: ['*.*.ssn'] },
        values: [{ value: 'payment-card', strategy: 'keep-last', keep: 4 }],
      }),
    );
    expect(r.success).toBe(true);
  });

  it('says what is wrong', () => {
    const messages = (m: unknown): string[] => {
      const r = policyDocumentSchema.safeParse(doc(m));
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(messages({ columns: [{ column: 'customers.email', strategy: 'redact' }] }).join('\n')).toContain(
      'a column as schema.table.column',
    );
    expect(messages({ columns: [{ column: 'a.b.c', strategy: 'keep-last' }] }).join('\n')).toContain(
      'keep-last needs keep',
    );
    expect(messages({ columns: [{ label: 'pii', strategy: 'redact' }] }).join('\n')).toContain(
      'label "pii" is not defined under labels',
    );
    expect(messages({ values: [{ pattern: '(', strategy: 'redact' }] }).join('\n')).toContain(
      'not a usable regular expression',
    );
    expect(messages({ values: [{ value: 'email', strategy: 'null' }] }).join('\n')).toContain('not null');
    expect(messages({ columns: [{ column: 'a.b.c', strategy: 'hash', text: 'x' }] }).join('\n')).toContain(
      'text applies only to strategy redact',
    );
    expect(messages({}).join('\n')).toContain('masks nothing');
  });
});
