import { emptyBaseline, type BaselineState } from '../detect/baseline.js';
import type { DetectorQueries } from '../store/detector-queries.js';
import type { Logger } from '../util/logger.js';

/** Baselines in memory, loaded from the store on a person's first session here and saved after each. */
export class BaselineCache {
  private readonly states = new Map<string, BaselineState>();
  private readonly loading = new Map<string, Promise<BaselineState>>();

  constructor(
    private readonly queries: DetectorQueries,
    private readonly log: Logger,
  ) {}

  get(user: string): Promise<BaselineState> {
    const have = this.states.get(user);
    if (have) return Promise.resolve(have);
    let p = this.loading.get(user);
    if (!p) {
      p = this.queries
        .baseline(user)
        .then((s) => (s as BaselineState | null) ?? emptyBaseline())
        .catch(() => emptyBaseline())
        .then((s) => {
          this.states.set(user, s);
          this.loading.delete(user);
          return s;
        });
      this.loading.set(user, p);
    }
    return p;
  }

  async save(user: string): Promise<void> {
    const s = this.states.get(user);
    if (!s) return;
    await this.queries.saveBaseline(user, s).catch((err: unknown) => this.log.warn({ event: 'baseline_save_failed', user, err: (err as Error).message }, 'baseline not saved'));
  }
}
