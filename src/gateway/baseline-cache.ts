import { emptyBaseline, type BaselineState } from '../detect/baseline.js';
import type { DetectorQueries } from '../store/detector-queries.js';
import { within } from '../util/deadline.js';
import type { Logger } from '../util/logger.js';

/** A login does not wait longer than this for a baseline (the store may be cut off). */
const BASELINE_LOOKUP_TIMEOUT_MS = 3_000;

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
      p = within(this.queries.baseline(user), BASELINE_LOOKUP_TIMEOUT_MS, 'baseline lookup')
        .then((s) => {
          const state = (s as BaselineState | null) ?? emptyBaseline();
          this.states.set(user, state);
          return state;
        })
        .catch((err: unknown) => {
          // Not cached, so this session's (empty) baseline never overwrites the stored one.
          this.log.warn(
            { event: 'baseline_unavailable', user, err: (err as Error).message },
            'baseline not loaded; session compared with an empty one',
          );
          return emptyBaseline();
        })
        .finally(() => this.loading.delete(user));
      this.loading.set(user, p);
    }
    return p;
  }

  async save(user: string): Promise<void> {
    const s = this.states.get(user);
    if (!s) return;
    await this.queries
      .saveBaseline(user, s)
      .catch((err: unknown) =>
        this.log.warn({ event: 'baseline_save_failed', user, err: (err as Error).message }, 'baseline not saved'),
      );
  }
}
