import type { Command } from 'commander';
import type { ExportCommandOptions, VerifyCommandOptions } from './audit-commands.js';
import { EXIT } from './cli-errors.js';

const collect = (v: string, all: string[] = []): string[] => [...all, v];

/**
 * The `pgward audit` commands, on the program main.ts builds (cfg: the --config path). Apart
 * from audit-commands.ts so that listing them does not load the export and verify code.
 */
export function registerAuditCommands(program: Command, cfg: () => string | undefined): void {
  const audit = program.command('audit').description('session audit: export, verify, key, retention');
  audit
    .command('export')
    .description('stream session events to a file with a signed manifest (FILE.manifest.jws) and checkpoints')
    .requiredOption('--from <time>', 'start (ISO time, inclusive)')
    .option('--to <time>', 'end (ISO time, exclusive; default now)')
    .option('-u, --user <name>', 'only this person')
    .option('-f, --format <format>', 'jsonl, csv or ocsf', 'jsonl')
    .requiredOption('-o, --out <file>', 'output file')
    .option('--checkpoint <file>', "attach another gateway's checkpoint log (repeatable)", collect)
    .option('--with-events', 'also refused logins and admin actions (counted and covered by the manifest)')
    .action(async (o: ExportCommandOptions) => {
      const { auditExport } = await import('./audit-commands.js');
      await auditExport(cfg(), o);
    });
  audit
    .command('verify')
    .description('prove an export complete and unchanged, offline; names the first broken event (exit 1 if not)')
    .argument('<export>')
    .option('--manifest <file>', 'the signed manifest (default: EXPORT.manifest.jws)')
    .option('--jwks <file|url>', 'pinned keys, from: pgward audit key (repeatable)', collect)
    .option('--pin <thumbprint>', 'a pinned key thumbprint (repeatable)', collect)
    .option('--trust-on-first-use', 'accept the keys the files carry this once (prints their thumbprints)')
    .option('--checkpoint <file>', 'a checkpoint log besides those the export carries (repeatable)', collect)
    .action(async (path: string, o: VerifyCommandOptions) => {
      const { auditVerify } = await import('./audit-commands.js');
      if (!(await auditVerify(path, o))) process.exitCode = EXIT.failure;
    });
  audit
    .command('key')
    .description('print the public keys auditors pin (JWKS: manifest key and checkpoint key)')
    .action(async () => {
      const { auditKey } = await import('./audit-commands.js');
      await auditKey(cfg());
    });
  audit
    .command('retention')
    .description('delete events older than a duration now (recorded as an admin event)')
    .requiredOption('--older-than <duration>', 'e.g. 90d')
    .action(async (o: { olderThan: string }) => {
      const { auditRetention } = await import('./audit-commands.js');
      await auditRetention(cfg(), o.olderThan);
    });
}
