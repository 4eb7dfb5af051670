import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyOptions, maskCopyRow, type CopyPlan } from '../../src/mask/copy-out.js';
import { compileValueRule, maskValue } from '../../src/mask/maskers.js';
import { maskNotice } from '../../src/mask/notice.js';
import { planRow, rewriteDataRow, type MaskContext } from '../../src/mask/row-plan.js';
import { errorResponse } from '../../src/protocol/backend-writer.js';

const ctx = (): MaskContext => ({
  key: Buffer.from('key'),
  values: [compileValueRule({ value: 'email', strategy: 'email-domain' })],
  hits: new Map(),
});

/** A DataRow body: column count, then each value's length and bytes (-1 for NULL). */
function dataRow(values: Array<Buffer | string | null>): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      len.writeInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

function values(frame: Buffer): Array<string | null> {
  expect(frame[0]).toBe(0x44);
  expect(frame.readUInt32BE(1)).toBe(frame.length - 1);
  const body = frame.subarray(5);
  const out: Array<string | null> = [];
  let pos = 2;
  for (let i = 0; i < body.readInt16BE(0); i++) {
    const len = body.readInt32BE(pos);
    pos += 4;
    out.push(len < 0 ? null : body.toString('utf8', pos, pos + len));
    pos += Math.max(0, len);
  }
  expect(pos).toBe(body.length);
  return out;
}

const email = { label: 'public.c.email', strategy: { strategy: 'email-domain' as const } };

describe('DataRow rewrite', () => {
  it('masks text columns in place, NULLs masked non-text ones, scans the rest, fixes lengths', () => {
    const plan = planRow(
      [
        { typeOid: 23, format: 1 },
        { typeOid: 25, format: 0 },
        { typeOid: 1082, format: 1 },
        { typeOid: 25, format: 1 },
        { typeOid: 3802, format: 1 },
      ],
      [null, email, { label: 'public.c.birth', strategy: { strategy: 'redact' } }, null, null],
      true,
    );
    const c = ctx();
    const int4 = Buffer.from([0, 0, 0, 7]);
    const date = Buffer.from([0, 0, 1, 2]);
    const jsonb = Buffer.concat([Buffer.from([1]), Buffer.from('{"to": "carol@example.org"}')]);
    const out = rewriteDataRow(dataRow([int4, 'alice@example.com', date, 'see bob@x.io', jsonb]), plan, c)!;
    const v = values(out);
    expect(v[1]).toBe('a***@example.com');
    expect(v[2]).toBeNull();
    expect(v[3]).toBe('see b***@x.io');
    expect(v[4]).toBe('\u0001{"to": "c***@example.org"}');
    expect(Object.fromEntries(c.hits)).toEqual({ 'public.c.email': 1, 'public.c.birth': 1, email: 2 });
  });

  it('leaves a row with nothing to mask as it is (no copy)', () => {
    const plan = planRow([{ typeOid: 25, format: 0 }], [null], true);
    expect(rewriteDataRow(dataRow(['nothing here']), plan, ctx())).toBeNull();
    expect(planRow([{ typeOid: 23, format: 0 }], [null], false).active).toBe(false);
  });

  it('keeps every row well formed (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string(), { nil: null }), { minLength: 1, maxLength: 6 }), (vals) => {
        const plan = planRow(
          vals.map(() => ({ typeOid: 25, format: 0 })),
          vals.map((_, i) => (i % 2 === 0 ? email : null)),
          true,
        );
        const out = rewriteDataRow(dataRow(vals), plan, ctx());
        const got = out ? values(out) : vals;
        got.forEach((g, i) => {
          const v = vals[i]!;
          if (v === null) expect(g).toBeNull();
          else if (i % 2 === 0) expect(g).toBe(maskValue(v, email.strategy, Buffer.from('key')));
        });
      }),
    );
  });
});

describe('COPY rows', () => {
  const plan = (opts: Record<string, string | true>, header = false): CopyPlan => {
    const options = copyOptions(new Map(Object.entries(opts)));
    return { options, masks: [null, email, null], scan: true, headerPending: header };
  };

  it('masks text format, keeping escapes and NULL markers', () => {
    const p = plan({});
    const out = maskCopyRow(Buffer.from('1\talice@example.com\tline\\none\n'), p, ctx())!;
    expect(out.toString()).toBe('1\ta***@example.com\tline\\none\n');
    expect(maskCopyRow(Buffer.from('2\t\\N\tx\n'), p, ctx())).toBeNull();
  });

  it('masks CSV with quotes and skips the header', () => {
    const p = plan({ format: 'csv', header: true }, true);
    expect(maskCopyRow(Buffer.from('id,email,note\n'), p, ctx())).toBeNull();
    const out = maskCopyRow(Buffer.from('1,"alice@example.com","a, ""quoted"" bob@x.io"\n'), p, ctx())!;
    expect(out.toString()).toBe('1,a***@example.com,"a, ""quoted"" b***@x.io"\n');
  });
});

describe('errors and notices', () => {
  it('hides row details and masks recognised values', () => {
    const body = errorResponse({
      severity: 'ERROR',
      code: '23502',
      message: 'null value in column "id" violates not-null constraint',
      detail: 'Failing row contains (null, alice@example.com).',
    }).subarray(5);
    const out = maskNotice(body, ctx(), true)!.toString();
    expect(out).toContain('detail hidden');
    expect(out).not.toContain('alice');
    const values = maskNotice(body, ctx(), false)!.toString();
    expect(values).toContain('a***@example.com');
  });
});
