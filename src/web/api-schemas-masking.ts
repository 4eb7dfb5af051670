import { z } from 'zod';

/* The console API's shapes for the masking preview (docs/masking.md); the page types its answers from here. */

export const maskingPreviewRequest = z
  .object({
    documents: z.record(z.string(), z.string()),
    /** The allow rule whose masking is previewed. */
    rule: z.string().min(1),
    /** schema.table.column for column rules; any other name is seen by value rules only. */
    columns: z.array(z.string().min(1).max(200)).min(1).max(50),
    rows: z.array(z.array(z.string().max(10_000).nullable()).max(50)).max(100),
  })
  .strict();

export const maskingPreview = z.object({
  rule: z.string(),
  /** False when the rule has no masking (its sessions see data as it is). */
  masking: z.boolean(),
  columns: z.array(z.object({ name: z.string(), rule: z.string().nullable(), strategy: z.string().nullable() })),
  before: z.array(z.array(z.string().nullable())),
  after: z.array(z.array(z.string().nullable())),
  masked: z.record(z.string(), z.number()),
});
