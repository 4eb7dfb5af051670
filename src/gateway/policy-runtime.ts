import { watch, type FSWatcher } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { formatProblem, parsePolicyDocuments, readPolicyDir } from '../policy/loader.js';
import type { PolicyContext } from '../policy/meaning-check.js';
import type { PolicySet } from '../policy/schema.js';
import { policyDiff, policyDigest } from '../policy/versioning.js';
import { PolicyQueries } from '../store/policy-queries.js';
import type { Store, Subscription } from '../store/store.js';
import type { Logger } from '../util/logger.js';

/** What connections read: the policy set in force right now. */
export interface PolicySource {
  current(): PolicySet;
}

export class PolicyLoadError extends Error {
  override name = 'PolicyLoadError';
}

const EMPTY: PolicySet = { rules: [], profiles: {}, version: null };

/**
 * Keeps the policy in force: the newest version in the store, which files in `dir` (when
 * given) feed. A file edit is validated whole, stored as a new version with its diff and
 * announced with NOTIFY; every gateway LISTENs and swaps it in for new connections. An
 * invalid edit is logged and the last good version stays.
 */
export class PolicyRuntime implements PolicySource {
  private set: PolicySet = EMPTY;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private readonly queries: PolicyQueries;
  /** Serializes reloads so versions apply in order. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    store: Store,
    private readonly log: Logger,
    private readonly dir: string | null,
    private readonly context: PolicyContext | null,
  ) {
    this.queries = new PolicyQueries(store);
  }

  /**
   * `context`: what file edits' names are checked against (targets, groups); versions stored
   * by others are checked for detector profiles only, since another gateway's targets may differ.
   */
  static async start(opts: {
    store: Store;
    log: Logger;
    dir: string | null;
    watch?: boolean;
    context?: PolicyContext;
  }): Promise<PolicyRuntime> {
    const rt = new PolicyRuntime(opts.store, opts.log, opts.dir, opts.context ?? null);
    rt.subscription = opts.store.subscribe(['policy-version'], {
      notice: (n) => rt.enqueue(() => rt.applyVersion(n.version)),
      down: (err) => opts.log.warn({ event: 'policy_listener_down', err: err.message }, 'policy listener reconnecting'),
      log: opts.log,
    });
    if (opts.dir) {
      const stored = await rt.syncFiles();
      if (!stored) {
        const latest = await rt.queries.latest();
        if (!latest)
          throw new PolicyLoadError(`the policies in ${opts.dir} are invalid and no earlier version is stored`);
        await rt.applyVersion(latest.id);
      }
      if (opts.watch ?? true) rt.watchDir(opts.dir);
    } else {
      const latest = await rt.queries.latest();
      if (latest) await rt.applyVersion(latest.id);
      else opts.log.warn({ event: 'policy_empty' }, 'no policy version stored: every connection will be denied');
    }
    return rt;
  }

  current(): PolicySet {
    return this.set;
  }

  get queriesForVersions(): PolicyQueries {
    return this.queries;
  }

  private enqueue(task: () => Promise<unknown>): void {
    this.chain = this.chain.then(task).then(
      () => undefined,
      (err: unknown) =>
        this.log.error({ event: 'policy_reload_failed', err: (err as Error).message }, 'policy reload failed'),
    );
  }

  /** Validates the directory; stores it as a new version if it differs. False if invalid. */
  private async syncFiles(): Promise<boolean> {
    const documents = await readPolicyDir(this.dir!);
    const loaded = parsePolicyDocuments(documents, null, this.context);
    if (!loaded.ok) {
      for (const p of loaded.problems)
        this.log.error(
          { event: 'policy_invalid', problem: formatProblem(p) },
          'policy rejected; the last good version stays in force',
        );
      return false;
    }
    for (const w of loaded.warnings)
      this.log.warn({ event: 'policy_warning', problem: formatProblem(w) }, 'policy stored with a warning');
    const { id, created } = await this.queries.append({
      author: `${userInfo().username}@${hostname()} (files)`,
      source: 'files',
      documents,
      digest: policyDigest(documents),
      diff: (prev) => policyDiff(prev, documents),
    });
    if (created) this.log.info({ event: 'policy_version_stored', version: id }, 'policy files stored as a new version');
    // Apply at once here as well: the NOTIFY will find the version already in force.
    await this.applyVersion(id);
    return true;
  }

  private async applyVersion(id: number): Promise<void> {
    if (!Number.isInteger(id) || (this.set.version !== null && id <= this.set.version)) return;
    const v = await this.queries.version(id);
    if (!v) return;
    const loaded = parsePolicyDocuments(v.documents, v.id);
    if (!loaded.ok) {
      // Only valid versions are stored, but a newer gateway's schema may differ from ours.
      this.log.error(
        { event: 'policy_version_invalid', version: id, problems: loaded.problems.map(formatProblem) },
        'stored policy version rejected',
      );
      return;
    }
    this.set = loaded.set;
    this.log.info({ event: 'policy_applied', version: id, rules: loaded.set.rules.length }, 'policy version in force');
  }

  private watchDir(dir: string): void {
    try {
      this.watcher = watch(dir, () => {
        if (this.debounce) clearTimeout(this.debounce);
        // Editors write in several steps; wait for the burst to end.
        this.debounce = setTimeout(() => this.enqueue(() => this.syncFiles()), 150);
      });
      this.watcher.on('error', (err) =>
        this.log.warn({ event: 'policy_watch_error', err: err.message }, 'policy directory watch failed'),
      );
    } catch (err) {
      this.log.warn(
        { event: 'policy_watch_error', err: (err as Error).message },
        'cannot watch the policy directory; restart to apply edits',
      );
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    if (this.debounce) clearTimeout(this.debounce);
    await this.subscription?.close();
    await this.chain;
  }
}
