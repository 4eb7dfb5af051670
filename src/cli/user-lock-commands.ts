import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { MAX_LOCK_MS } from '../identity/user-locks.js';
import { AuditQueries } from '../store/audit-queries.js';
import { parseDuration } from '../util/duration.js';
import { withControlPlane } from './cli-context.js';
import { CliUsageError } from './cli-errors.js';
import { note, out, printJson } from './output.js';

const operator = (): string => `${userInfo().username} (cli)`;

function lockDuration(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new CliUsageError(`--for: invalid duration "${value}"`, { hint: 'e.g. --for 30m, --for 4h, --for 2d' });
  }
  if (ms <= 0 || ms > MAX_LOCK_MS) throw new CliUsageError('--for: a lock lasts at most 30d');
  return ms;
}

/** `pgward user lock|unlock|locks`: keep a person out of pgward for a while (docs/login.md: locks). */
export function registerUserLockCommands(program: Command, cfg: () => string | undefined): void {
  const user = program.command('user').description('people: lock one out of pgward for a while, or lift the lock');
  user
    .command('lock')
    .description('refuse NAME new logins, sign-ins, tokens and link approvals on every gateway for a while')
    .argument('<name>')
    .requiredOption('--for <duration>', 'how long, at most 30d (e.g. 30m, 4h)')
    .requiredOption('--reason <text>', 'why: the person is told, the audit records it')
    .action(async (name: string, o: { for: string; reason: string }) => {
      const ms = lockDuration(o.for);
      const reason = o.reason.replace(/\s+/g, ' ').trim();
      if (reason.length < 3) throw new CliUsageError('--reason: say why (at least 3 characters)');
      await withControlPlane(cfg(), async (cp) => {
        const by = operator();
        const lock = await cp.tokens.lockUser(name, ms, reason, by);
        await new AuditQueries(cp.store).recordAdminEvent(by, 'user.lock', { user: name, until: lock.until, reason });
        note(
          `${name} is locked out until ${lock.until.toISOString()} (live sessions go on: end them with pgward token revoke --user ${name} --end-sessions)`,
        );
      });
    });
  user
    .command('unlock')
    .description('lift the lock on NAME now')
    .argument('<name>')
    .action(async (name: string) => {
      await withControlPlane(cfg(), async (cp) => {
        const unlocked = await cp.tokens.unlockUser(name);
        await new AuditQueries(cp.store).recordAdminEvent(operator(), 'user.unlock', { user: name, unlocked });
        note(unlocked ? `${name} may log in again` : `${name} was not locked`);
      });
    });
  user
    .command('locks')
    .description('people locked out now: until when, by whom, why')
    .option('--json', 'print them as a JSON array')
    .action(async (o: { json?: boolean }) => {
      await withControlPlane(cfg(), async (cp) => {
        const locks = await cp.tokens.locked();
        if (o.json) return printJson(locks);
        if (locks.length === 0) return note('nobody is locked out');
        for (const l of locks) out(`${l.username}\tuntil ${l.until.toISOString()}\tby ${l.by}\t${l.reason}`);
      });
    });
}
