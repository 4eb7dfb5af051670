import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What /metrics shows: onboarding stage timings, sessions, bytes, anomalies, auth failures. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly stage = new Histogram({
    name: 'pgward_onboarding_stage_seconds',
    help: 'Time from accept to the end of each onboarding stage (tls, auth, policy, upstream, ready)',
    labelNames: ['stage'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly activeSessions = new Gauge({
    name: 'pgward_active_sessions',
    help: 'Sessions relaying now',
    registers: [this.registry],
  });
  readonly sessions = new Counter({
    name: 'pgward_sessions_total',
    help: 'Sessions ended, by end reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'pgward_bytes_total',
    help: 'Bytes relayed',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly anomalies = new Counter({
    name: 'pgward_anomalies_total',
    help: 'Anomalies detected',
    labelNames: ['kind', 'action'],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'pgward_auth_failures_total',
    help: 'Failed logins, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor() {
    // prom-client's own names already start with process_ or nodejs_: the prefix is only pgward_.
    collectDefaultMetrics({ register: this.registry, prefix: 'pgward_' });
  }

  onboarded(stages: Record<string, number>): void {
    for (const [stage, ms] of Object.entries(stages)) this.stage.observe({ stage }, ms / 1000);
  }

  /** Reasons are bucketed to a small set of labels (no user input in label values). */
  authFailure(reason: string): void {
    const r = reason.startsWith('policy:')
      ? 'policy'
      : reason
          .replace(/[^a-z -]/gi, '')
          .split(' ')
          .slice(0, 2)
          .join('-')
          .toLowerCase() || 'other';
    this.authFailures.inc({ reason: r.slice(0, 40) });
  }
}
