import { access } from 'node:fs/promises';
import net from 'node:net';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../util/logger.js';

/**
 * What keeps a failed `pgward start` from leaving anything behind: busy ports found before
 * anything starts and named with the setting that moves them, and the parts started so far
 * stopped again when a later step fails or a signal arrives (start-recovery.test.ts).
 */

export type StartOptions = { config?: string | undefined; port?: number | undefined };

/** A start that cannot go on, with what to do about it; everything it had started is stopped. */
export class StartError extends Error {
  override name = 'StartError';
}

/** Where a setting is changed, as the user would edit it. */
const configName = async (path: string | undefined): Promise<string> =>
  path ??
  (await access('pgward.yaml').then(
    () => 'pgward.yaml',
    () => 'a pgward.yaml in this folder',
  ));

function portInUse(host: string, port: number): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((done) => {
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done(false)));
  });
}

interface Listener {
  what: string;
  setting: string;
  host: string;
  port: number;
}

function listeners(config: GatewayConfig, portFlag: boolean): Listener[] {
  const all: Listener[] = [
    {
      what: 'the gateway',
      setting: portFlag ? '--port' : 'listen.port',
      host: config.listen.host,
      port: config.listen.port,
    },
  ];
  if (config.web.enabled)
    all.push({ what: 'the console', setting: 'web.port', host: config.web.host, port: config.web.port });
  return all.filter((l) => l.port !== 0);
}

const busyMessage = (l: Listener, file: string): string =>
  `port ${l.port} on ${l.host} is already in use, so ${l.what} cannot listen there.` +
  ` Move it with ${l.setting === '--port' ? '--port N' : `${l.setting} in ${file}`}` +
  `${l.setting === 'listen.port' ? ' (or --port N)' : ''}, or stop what holds it (\`ss -ltnp 'sport = :${l.port}'\` names it).`;

/** Before anything starts: a busy port is named with the setting that moves it. */
export async function checkPorts(config: GatewayConfig, opts: StartOptions): Promise<void> {
  for (const l of listeners(config, opts.port !== undefined))
    if (await portInUse(l.host, l.port)) throw new StartError(busyMessage(l, await configName(opts.config)));
}

/** A port taken between the check and the listen still gets the same message. */
export async function explainStartError(err: unknown, config: GatewayConfig, opts: StartOptions): Promise<unknown> {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e.code !== 'EADDRINUSE') return err;
  const l = listeners(config, opts.port !== undefined).find((x) => x.port === e.port);
  return l ? new StartError(busyMessage(l, await configName(opts.config))) : err;
}

/**
 * What a start has brought up so far, stopped in reverse order when a later step fails or
 * when Ctrl-C (SIGINT) or SIGTERM arrives before the start is complete: pg_ctl detaches the
 * embedded Postgres from the terminal, so nothing else would stop it.
 */
export class StartedParts {
  private readonly parts: Array<{ what: string; stop: () => Promise<unknown> }> = [];
  private interrupted: NodeJS.Signals | null = null;

  constructor(private readonly log: Logger) {}

  /** Records a part; a signal received meanwhile ends the start here, this part included. */
  add(what: string, stop: () => Promise<unknown>): void {
    this.parts.push({ what, stop });
    this.check();
  }

  /** The last moment a signal received while starting is answered by this class. */
  check(): void {
    if (this.interrupted)
      throw new StartError(`stopped by ${this.interrupted} while starting; what had started is stopped again`);
  }

  /** First signal: stop after the step under way. Second: leave at once. */
  readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.interrupted) process.exit(1);
    this.interrupted = signal;
    this.log.info({ event: 'start_interrupted', signal }, 'stopping what has started once the current step ends');
  };

  async stopAll(): Promise<void> {
    for (const s of this.parts.reverse())
      await s
        .stop()
        .catch((e: unknown) =>
          this.log.warn({ event: 'start_cleanup_failed', what: s.what, err: (e as Error).message }, 'could not stop'),
        );
  }
}
