import { z } from 'zod';

/**
 * Data masking rules of a grant (`session.masking`): which values a session sees masked and
 * how (docs/masking.md). Columns are named `schema.table.column` with `*` globs, directly or
 * through labels; values are found by built-in recognisers or custom regular expressions.
 */

export const VALUE_RECOGNISERS = ['email', 'payment-card', 'iban', 'phone', 'us-ssn', 'fr-nir'] as const;
export type ValueRecogniser = (typeof VALUE_RECOGNISERS)[number];

export const MASK_STRATEGIES = ['redact', 'null', 'keep-last', 'email-domain', 'hash'] as const;
export type MaskStrategyName = (typeof MASK_STRATEGIES)[number];

/** schema.table.column, each part a name or a glob (`*` matches any run of characters). */
const COLUMN_GLOB = /^[^.\s]+\.[^.\s]+\.[^.\s]+$/;
const columnGlob = z
  .string()
  .regex(COLUMN_GLOB, 'a column as schema.table.column, each part a name or a glob such as public.*.email');
const labelName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'letters, digits, ".", "_" and "-"');

/** How a value is masked; `text` and `keep` only where the strategy uses them. */
const strategyFields = {
  /**
   * redact: a fixed text (`text`, default ***); null: SQL NULL; keep-last: every character but
   * the last `keep` replaced by *; email-domain: a***@example.com; hash: a keyed HMAC, stable
   * per gateway secret, so equal values stay equal (joins and GROUP BY still work).
   */
  strategy: z.enum(MASK_STRATEGIES),
  text: z.string().max(200).optional(),
  keep: z.number().int().min(1).max(64).optional(),
};

function checkStrategy(
  r: { strategy: MaskStrategyName; text?: string | undefined; keep?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (r.strategy === 'keep-last' && r.keep === undefined)
    ctx.addIssue({ code: 'custom', path: ['keep'], message: 'keep-last needs keep: how many last characters stay' });
  if (r.strategy !== 'keep-last' && r.keep !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['keep'],
      message: `keep applies only to strategy keep-last, not ${r.strategy}`,
    });
  if (r.strategy !== 'redact' && r.text !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['text'],
      message: `text applies only to strategy redact, not ${r.strategy}`,
    });
}

const columnRuleSchema = z
  .object({
    /** A column glob, schema.table.column. */
    column: columnGlob.optional(),
    /** Every column the profile's `labels` attach this label to. */
    label: labelName.optional(),
    ...strategyFields,
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.column === undefined) === (r.label === undefined))
      ctx.addIssue({ code: 'custom', message: 'a column rule names exactly one of column or label' });
    checkStrategy(r, ctx);
  });

const valueRuleSchema = z
  .object({
    /** A built-in recogniser. */
    value: z.enum(VALUE_RECOGNISERS).optional(),
    /** A custom regular expression (JavaScript, u flag); every match in a text value is masked. */
    pattern: z.string().min(1).optional(),
    /** Names a custom pattern in the audit (default: custom). */
    name: labelName.optional(),
    ...strategyFields,
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.value === undefined) === (r.pattern === undefined))
      ctx.addIssue({ code: 'custom', message: 'a value rule names exactly one of value (a recogniser) or pattern' });
    if (r.pattern !== undefined) {
      try {
        if (new RegExp(r.pattern, 'u').test('')) throw new Error('matches the empty string');
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['pattern'],
          message: `not a usable regular expression: ${(err as Error).message}`,
        });
      }
    }
    if (r.strategy === 'null')
      ctx.addIssue({
        code: 'custom',
        path: ['strategy'],
        message: 'a value rule masks part of a text: use redact, keep-last, email-domain or hash, not null',
      });
    checkStrategy(r, ctx);
  });

export const maskingSchema = z
  .object({
    columns: z.array(columnRuleSchema).default([]),
    values: z.array(valueRuleSchema).default([]),
    /** Labels attached to columns (globs), for column rules that name a label. */
    labels: z.record(labelName, z.array(columnGlob).min(1)).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    m.columns.forEach((c, i) => {
      if (c.label !== undefined && !(c.label in m.labels))
        ctx.addIssue({
          code: 'custom',
          path: ['columns', i, 'label'],
          message: `label "${c.label}" is not defined under labels (defined: ${Object.keys(m.labels).join(', ') || 'none'})`,
        });
    });
    if (m.columns.length === 0 && m.values.length === 0)
      ctx.addIssue({ code: 'custom', message: 'masking with no columns and no values masks nothing: remove it' });
  })
  .describe('Data masking for sessions under this grant (docs/masking.md).');

export type MaskingRules = z.infer<typeof maskingSchema>;
export type ColumnRule = MaskingRules['columns'][number];
export type ValueRule = MaskingRules['values'][number];
