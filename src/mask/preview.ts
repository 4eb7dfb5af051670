import type { MaskingRules } from '../policy/masking-schema.js';
import { columnMaskFor } from './catalogue.js';
import { compileValueRule, maskRecognised, maskValue } from './maskers.js';

/**
 * The console's masking preview: a sample result (column names as schema.table.column, or
 * bare names, which only value rules see) masked as a grant's sessions would see it, with
 * the same pure maskers the relay uses. Types are not known here: every value is text.
 */

export interface PreviewColumn {
  name: string;
  /** The column rule's label, or null when only value rules apply. */
  rule: string | null;
  strategy: string | null;
}

export interface Preview {
  columns: PreviewColumn[];
  rows: Array<Array<string | null>>;
  /** Masked values per column or recogniser, as the audit counts them. */
  masked: Record<string, number>;
}

export function previewMasking(
  rules: MaskingRules,
  columns: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  key: Buffer,
): Preview {
  const values = rules.values.map(compileValueRule);
  const hits = new Map<string, number>();
  const masks = columns.map((name) => {
    const parts = name.split('.');
    return parts.length === 3 ? columnMaskFor(rules, parts[0]!, parts[1]!, parts[2]!) : null;
  });
  const out = rows.map((row) =>
    columns.map((_, i) => {
      const v = row[i] ?? null;
      if (v === null) return null;
      const mask = masks[i];
      if (mask) {
        hits.set(mask.label, (hits.get(mask.label) ?? 0) + 1);
        return maskValue(v, mask.strategy, key);
      }
      return values.length > 0 ? (maskRecognised(v, values, key, hits) ?? v) : v;
    }),
  );
  return {
    columns: columns.map((name, i) => ({
      name,
      rule: masks[i]?.label ?? null,
      strategy: masks[i]?.strategy.strategy ?? null,
    })),
    rows: out,
    masked: Object.fromEntries(hits),
  };
}
