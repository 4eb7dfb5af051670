const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "8h", "30d" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 90s, 15m, 8h, 30d)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}
