import type { Logger } from '../util/logger.js';

export interface Alert {
  kind: string;
  severity: string;
  action: string;
  user: string | null;
  session: string;
  gateway: string;
  at: string;
  detail: Record<string, unknown>;
  /** One line for chat webhooks (a Slack incoming webhook shows `text`). */
  text?: string;
}

/**
 * Sends alerts to webhooks in the background: JSON POSTs, retried with exponential
 * backoff (5 attempts), never blocking a session. Alerts carry normalized SQL only.
 */
export class AlertSender {
  private inFlight = new Set<Promise<void>>();
  sent = 0;
  failed = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: { attempts?: number; baseDelayMs?: number; timeoutMs?: number } = {},
  ) {}

  send(url: string, alert: Alert): void {
    const p = this.deliver(url, alert).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async deliver(url: string, alert: Alert): Promise<void> {
    const attempts = this.opts.attempts ?? 5;
    for (let i = 1; i <= attempts; i++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'pgward-alerts' },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
        });
        if (res.ok) {
          this.sent++;
          return;
        }
        this.log.warn(
          { event: 'alert_rejected', status: res.status, attempt: i, kind: alert.kind },
          'alert webhook refused',
        );
      } catch (err) {
        this.log.warn(
          { event: 'alert_failed', attempt: i, kind: alert.kind, err: (err as Error).message },
          'alert webhook unreachable',
        );
      }
      if (i < attempts) await new Promise((r) => setTimeout(r, (this.opts.baseDelayMs ?? 500) * 2 ** (i - 1)));
    }
    this.failed++;
    this.log.error(
      { event: 'alert_dropped', kind: alert.kind, session: alert.session },
      'alert not delivered after retries (it is in the audit record)',
    );
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
