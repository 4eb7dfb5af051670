import { createHmac } from 'node:crypto';
import type { MaskStrategyName, ValueRecogniser } from '../policy/masking-schema.js';

/**
 * Pure maskers: one value in, its masked form out. No I/O, no state beyond the gateway's
 * masking key (for hash), so what a session sees can be tested and previewed alike.
 */

export interface Strategy {
  strategy: MaskStrategyName;
  text?: string | undefined;
  keep?: number | undefined;
}

export const DEFAULT_REDACTION = '***';

/** Code points, so keep-last never splits a character in two. */
function chars(value: string): string[] {
  return Array.from(value);
}

function keepLast(value: string, keep: number): string {
  // ASCII (the usual card or phone number): no code point split is possible.
  if (Buffer.byteLength(value, 'utf8') === value.length)
    return value.length <= keep ? '*'.repeat(value.length) : '*'.repeat(value.length - keep) + value.slice(-keep);
  const cs = chars(value);
  // A value no longer than what would be kept would be shown whole: all of it is masked.
  if (cs.length <= keep) return '*'.repeat(cs.length);
  return '*'.repeat(cs.length - keep) + cs.slice(cs.length - keep).join('');
}

function emailDomain(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return DEFAULT_REDACTION;
  return `${String.fromCodePoint(value.codePointAt(0)!)}***${value.slice(at)}`;
}

/** Keyed, so a value's hash cannot be looked up without the gateway's secret; 16 hex digits. */
export function keyedHash(value: string, key: Buffer): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 16);
}

/** The masked form of a whole value; null means SQL NULL. */
export function maskValue(value: string, s: Strategy, key: Buffer): string | null {
  switch (s.strategy) {
    case 'redact':
      return s.text ?? DEFAULT_REDACTION;
    case 'null':
      return null;
    case 'keep-last':
      return keepLast(value, s.keep ?? 4);
    case 'email-domain':
      return emailDomain(value);
    case 'hash':
      return keyedHash(value, key);
  }
}

/**
 * For a value computed from a masked column (lower(email), substr(card, 1, 6)): partial
 * strategies are not safe there (keep-last of a substring shows what the column's rule
 * hides), so they become a full redaction; redact, null and hash keep their meaning.
 */
export function derivedStrategy(s: Strategy): Strategy {
  return s.strategy === 'keep-last' || s.strategy === 'email-domain' ? { strategy: 'redact' } : s;
}

// ---- value recognisers --------------------------------------------------------------------

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 check: the country and check digits moved to the end, letters as 10-35, mod 97 = 1. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '');
  if (s.length < 15 || s.length > 34) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const n = code >= 65 ? code - 55 : code - 48;
    rest = n >= 10 ? (rest * 100 + n) % 97 : (rest * 10 + n) % 97;
  }
  return rest === 1;
}

/** French NIR (INSEE number): 13 digits and a key 97 - (number mod 97); Corsica's 2A/2B read as 19/18. */
export function nirValid(nir: string): boolean {
  const s = nir.replace(/ /g, '').toUpperCase();
  if (s.length !== 15) return false;
  const body = s.slice(0, 13).replace('2A', '19').replace('2B', '18');
  if (!/^\d{13}$/.test(body)) return false;
  const key = Number(s.slice(13));
  return 97 - Number(BigInt(body) % 97n) === key;
}

interface Recogniser {
  re: RegExp;
  valid?: (match: string) => boolean;
  /** A character every match contains: a text without it is not searched (most values, at a tenth of the cost). */
  hint?: string;
}

const RECOGNISERS: Record<ValueRecogniser, Recogniser> = {
  email: { re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, hint: '@' },
  // 13 to 19 digits, spaces or dashes between groups, and a valid Luhn sum.
  'payment-card': {
    re: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    valid: (m) => luhn(m.replace(/[ -]/g, '')),
  },
  iban: { re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, valid: ibanValid },
  // International (+...) or with separators, 9 to 15 digits: a bare run of digits is an id, not a phone.
  phone: {
    re: /(?<![\w+])(?:\+\d[\d .()-]{7,18}\d|\(?\d{2,4}\)?[ .-]\d{2,4}[ .-]\d{2,4}(?:[ .-]\d{2,4}){0,2})(?![\w])/g,
    valid: (m) => {
      const n = m.replace(/\D/g, '').length;
      return n >= 9 && n <= 15;
    },
  },
  'us-ssn': { re: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g, hint: '-' },
  'fr-nir': {
    re: /\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b/gi,
    valid: nirValid,
  },
};

/** A value rule ready to run: its expression and how a match is masked. */
export interface CompiledValueRule {
  /** For the audit: the recogniser's name, or the custom pattern's name. */
  label: string;
  re: RegExp;
  valid: ((m: string) => boolean) | undefined;
  hint: string | undefined;
  strategy: Strategy;
}

export function compileValueRule(rule: {
  value?: ValueRecogniser | undefined;
  pattern?: string | undefined;
  name?: string | undefined;
  strategy: MaskStrategyName;
  text?: string | undefined;
  keep?: number | undefined;
}): CompiledValueRule {
  const strategy: Strategy = { strategy: rule.strategy, text: rule.text, keep: rule.keep };
  if (rule.value) {
    const r = RECOGNISERS[rule.value];
    return { label: rule.value, re: new RegExp(r.re.source, r.re.flags), valid: r.valid, hint: r.hint, strategy };
  }
  return {
    label: rule.name ?? 'custom',
    re: new RegExp(rule.pattern ?? '(?!)', 'gu'),
    valid: undefined,
    hint: undefined,
    strategy,
  };
}

/**
 * Every recognised value in a text replaced by its mask; null when nothing matched (the
 * caller keeps the original bytes). `hits` counts matches per rule label.
 */
export function maskRecognised(
  text: string,
  rules: readonly CompiledValueRule[],
  key: Buffer,
  hits?: Map<string, number>,
): string | null {
  let out = text;
  let changed = false;
  for (const rule of rules) {
    if (rule.hint !== undefined && !out.includes(rule.hint)) continue;
    rule.re.lastIndex = 0;
    if (!rule.re.test(out)) continue;
    rule.re.lastIndex = 0;
    out = out.replace(rule.re, (m) => {
      if (rule.valid && !rule.valid(m)) return m;
      changed = true;
      hits?.set(rule.label, (hits.get(rule.label) ?? 0) + 1);
      return maskValue(m, rule.strategy, key) ?? DEFAULT_REDACTION;
    });
  }
  return changed ? out : null;
}
