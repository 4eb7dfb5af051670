/**
 * Per-identity behaviour, learned from active windows with exponentially weighted means
 * and variances (robust to slow drift, cheap to update, one small JSON per person).
 */
export interface BaselineState {
  windows: number;
  mean: { rows: number; bytes: number; statements: number };
  variance: { rows: number; bytes: number; statements: number };
  /** Relations seen (capped), client addresses seen (capped), activity per UTC hour. */
  tables: string[];
  sources: string[];
  hours: number[];
}

export const emptyBaseline = (): BaselineState => ({
  windows: 0,
  mean: { rows: 0, bytes: 0, statements: 0 },
  variance: { rows: 0, bytes: 0, statements: 0 },
  tables: [],
  sources: [],
  hours: Array.from({ length: 24 }, () => 0),
});

const ALPHA = 0.1;
const MAX_TABLES = 2_000;
const MAX_SOURCES = 200;

export interface WindowTotals {
  rows: number;
  bytes: number;
  statements: number;
}

/** Folds one active window into the baseline. */
export function learnWindow(b: BaselineState, w: WindowTotals, at: Date): void {
  const first = b.windows === 0;
  for (const k of ['rows', 'bytes', 'statements'] as const) {
    if (first) {
      b.mean[k] = w[k];
      b.variance[k] = 0;
    } else {
      const diff = w[k] - b.mean[k];
      b.mean[k] += ALPHA * diff;
      b.variance[k] = (1 - ALPHA) * (b.variance[k] + ALPHA * diff * diff);
    }
  }
  b.windows++;
  b.hours[at.getUTCHours()] = (b.hours[at.getUTCHours()] ?? 0) + 1;
}

/** The row count above which one window is a bulk read for this person. */
export function bulkReadThreshold(b: BaselineState, sigma: number, minRows: number): number {
  return Math.max(minRows, b.mean.rows + sigma * Math.sqrt(b.variance.rows));
}

export function rememberTable(b: BaselineState, table: string): boolean {
  if (b.tables.includes(table)) return false;
  if (b.tables.length < MAX_TABLES) b.tables.push(table);
  return true;
}

export function rememberSource(b: BaselineState, source: string): boolean {
  if (b.sources.includes(source)) return false;
  if (b.sources.length < MAX_SOURCES) b.sources.push(source);
  return true;
}
