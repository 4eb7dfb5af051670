import { Session, type Profiler } from 'node:inspector';

/** AFL's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  return count < 128 ? 7 : 8;
}

/**
 * V8's own block coverage, read through the inspector after each input or batch. Features
 * are (function, block range, hit-count bucket) of scripts under `roots`.
 *
 * V8 reports a block only where its count differs from the enclosing range's, so a branch
 * that starts being taken shows up as a range that stops being reported. Every range ever
 * reported is therefore remembered per function and given the count of the innermost
 * range reported around it.
 */
export class BlockCoverage {
  private readonly session = new Session();
  private readonly included = new Map<string, boolean>();
  private readonly blocks = new Map<string, Map<string, [number, number]>>();
  private readonly seen = new Set<string>();
  private readonly hit = new Set<string>();

  constructor(private readonly roots: readonly string[]) {
    this.session.connect();
    this.call('Profiler.enable');
    // With callCount, every take resets the counts: a take holds what ran since the last one.
    this.call('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  get features(): number {
    return this.seen.size;
  }

  /**
   * Reads what ran since the last call. 'input': what one input did; returns how many
   * (block, bucket) features are new, and records them. 'batch': what several inputs did
   * together, where summed counts say nothing per input; returns how many blocks ran for
   * the first time ever, so the caller knows to replay the inputs one by one.
   */
  collect(mode: 'input' | 'batch' = 'input'): number {
    const { result } = this.call<Profiler.TakePreciseCoverageReturnType>('Profiler.takePreciseCoverage');
    let fresh = 0;
    for (const script of result) {
      if (!this.isIncluded(script)) continue;
      for (const fn of script.functions) {
        const own = fn.ranges[0];
        if (!own || own.count === 0) continue;
        const key = `${script.scriptId}:${own.startOffset}`;
        let known = this.blocks.get(key);
        if (!known) this.blocks.set(key, (known = new Map()));
        for (const r of fn.ranges) {
          const id = `${r.startOffset}-${r.endOffset}`;
          if (!known.has(id)) known.set(id, [r.startOffset, r.endOffset]);
        }
        for (const [id, [start, end]] of known) {
          const count = innermostCount(fn.ranges, start, end);
          if (count === 0) continue;
          const block = `${key}:${id}`;
          if (!this.hit.has(block)) {
            this.hit.add(block);
            if (mode === 'batch') fresh++;
          }
          if (mode === 'batch') continue;
          const feature = `${block}:${bucket(count)}`;
          if (!this.seen.has(feature)) {
            this.seen.add(feature);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  private isIncluded(script: Profiler.ScriptCoverage): boolean {
    let yes = this.included.get(script.scriptId);
    if (yes === undefined) {
      yes = this.roots.some((root) => script.url.startsWith(root));
      this.included.set(script.scriptId, yes);
    }
    return yes;
  }

  /** The in-process session answers synchronously: the callback has run when post returns. */
  private call<T extends object>(method: string, params?: object): T {
    let answer: { err: Error | null; value?: object } | null = null;
    this.session.post(method, params ?? {}, (err, value) => {
      answer = { err, value };
    });
    const got = answer as { err: Error | null; value?: object } | null;
    if (!got) throw new Error(`inspector answered ${method} asynchronously`);
    if (got.err) throw got.err;
    return (got.value ?? {}) as T;
  }
}

function innermostCount(ranges: readonly Profiler.CoverageRange[], start: number, end: number): number {
  let best: Profiler.CoverageRange | null = null;
  for (const r of ranges) {
    if (r.startOffset > start || r.endOffset < end) continue;
    if (
      !best ||
      r.startOffset > best.startOffset ||
      (r.startOffset === best.startOffset && r.endOffset < best.endOffset)
    )
      best = r;
  }
  return best ? best.count : 0;
}
