import { maskRecognised } from './maskers.js';
import type { MaskContext } from './row-plan.js';

/**
 * Errors and notices can carry row values: a constraint's "Failing row contains (...)",
 * a unique key's "Key (email)=(...)". In a masked session their fields go through the value
 * recognisers, and with column rules such a DETAIL is replaced whole (which column it shows
 * cannot be told from its text).
 */

const ROW_DETAIL = /^(Failing row contains|Key \(|Key \(.*\)=\()/;
export const HIDDEN_DETAIL = 'detail hidden: this session masks data (pgward)';

/** Fields M (message), D (detail), H (hint), W (where) may quote values. */
const TEXT_FIELDS = new Set([0x4d, 0x44, 0x48, 0x57]);

export function maskNotice(body: Buffer, ctx: MaskContext, columnRules: boolean): Buffer | null {
  const parts: Buffer[] = [];
  let changed = false;
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = body[pos]!;
    const end = body.indexOf(0, pos + 1);
    if (end < 0) return null;
    let value = body.toString('utf8', pos + 1, end);
    let replaced = false;
    if (TEXT_FIELDS.has(code)) {
      if (code === 0x44 && columnRules && ROW_DETAIL.test(value)) {
        value = HIDDEN_DETAIL;
        replaced = true;
      } else if (ctx.values.length > 0) {
        const m = maskRecognised(value, ctx.values, ctx.key, ctx.hits);
        if (m !== null) {
          value = m;
          replaced = true;
        }
      }
    }
    if (replaced) {
      changed = true;
      parts.push(Buffer.from([code]), Buffer.from(value, 'utf8'), Buffer.from([0]));
    } else parts.push(body.subarray(pos, end + 1));
    pos = end + 1;
  }
  if (!changed) return null;
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
