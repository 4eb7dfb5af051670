#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CliError, EXIT, formatCliError, toCliError } from './cli-errors.js';
import { quietOnClosedPipe } from './output.js';
import { registerAuditCommands } from './register-audit.js';
import { packageVersion } from './version.js';

// Every command imports what it needs when it runs (await import(...) in its action), so
// `pgward --help` or `pgward token issue` loads commander, the config parser and the store
// client, not the gateway, the console or the SQL parser (docs/cli.md: startup).

quietOnClosedPipe();

// --version by hand, on its own: commander's would also swallow `policy explain --version N`
// (a program option is recognised after the subcommand too, so -c/--config works anywhere).
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`pgward ${packageVersion()}\n`);
  process.exit(0);
}

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a port number');
  return n;
};
const versionNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a version number');
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

const program = new Command()
  .name('pgward')
  .description('Authentication broker gateway for PostgreSQL')
  .option('-c, --config <file>', 'configuration file (default: ./pgward.yaml, else the embedded default)')
  .addHelpText(
    'after',
    '\npgward --version (-V) prints the version.\nExit codes: 0 ok, 1 failure, 2 wrong usage, 3 policy explain denies (docs/cli.md).',
  )
  // Commander's errors (unknown option, missing argument) become exit 2 below, after its message.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'pgward: ')) });

const cfg = (): string | undefined => program.opts<{ config?: string }>().config;

program
  .command('start')
  .description('run the gateway (with no store configured: embedded Postgres, dev certificates, demo database)')
  .option('-p, --port <port>', 'listen port', port)
  .action(async (o: { port?: number }) => {
    const { start } = await import('./start.js');
    await start({ config: cfg(), port: o.port });
  });

// The actions below are replaced by connect-command.ts (loaded for these words), which finds
// the console as this help says (login.ts resolveConsole).
const CONSOLE_HELP =
  'the console URL (default: PGWARD_URL, else web.publicUrl or web.host/port of the config, else the last sign-in, else http://127.0.0.1:8432)';

program
  .command('login')
  .description('sign in through the browser and write a ~/.pgpass entry for psql')
  .option('-g, --gateway <url>', CONSOLE_HELP)
  .option('--device', 'device code flow: sign in from a browser on another machine')
  .option('--no-open', 'print the sign-in URL instead of opening a browser')
  .action(async (o: { gateway?: string; device?: boolean; open: boolean }) => {
    const { login } = await import('./login.js');
    await login({ gateway: o.gateway, config: cfg(), device: o.device ?? false, open: o.open });
  });

program
  .command('logout')
  .description('revoke the token from `pgward login` and remove its ~/.pgpass entry')
  .option('-g, --gateway <url>', CONSOLE_HELP)
  .action(async (o: { gateway?: string }) => {
    const { logout } = await import('./login.js');
    await logout({ gateway: o.gateway, config: cfg() });
  });

const token = program.command('token').description('gateway tokens');
token
  .command('issue')
  .description('mint a token (printed on stdout) and store its SCRAM verifier')
  .requiredOption('-u, --user <name>', 'user name')
  .option('-g, --groups <list>', 'comma-separated groups', '')
  .option('-t, --ttl <duration>', 'lifetime such as 15m, 8h, 7d')
  .option('--json', 'print JSON with jti and expiry')
  .action(async (o: { user: string; groups: string; ttl?: string; json?: boolean }) => {
    const { tokenIssue } = await import('./admin-commands.js');
    await tokenIssue(cfg(), o);
  });
token
  .command('revoke')
  .description('revoke one token by jti, or every token of a user')
  .argument('[jti]', 'token id (a UUID, printed by token issue)')
  .option('-u, --user <name>', 'revoke all tokens of this user')
  .option('--end-sessions', 'also end live sessions using the token (or of the user) on every gateway')
  .action(async (jti: string | undefined, o: { user?: string; endSessions?: boolean }) => {
    const { tokenRevoke } = await import('./admin-commands.js');
    await tokenRevoke(cfg(), jti, o);
  });

const policy = program.command('policy').description('access policies');
policy
  .command('check')
  .description('validate policy files; problems are printed as FILE:LINE:COLUMN: message')
  .argument('[dir]', 'policy directory (default: policies.dir from the config, else ./policies)')
  .option('--json', 'print the result and every problem as JSON')
  .action(async (dir: string | undefined, o: { json?: boolean }) => {
    const { policyCheck } = await import('./policy-commands.js');
    if (!(await policyCheck(cfg(), dir, o))) process.exitCode = EXIT.failure;
  });
policy
  .command('explain')
  .description('show the decision for a connection and the rule that makes it (exit 3 when it is a denial)')
  .requiredOption('-u, --user <name>', 'user name')
  .option('-g, --groups <list>', 'comma-separated groups')
  .requiredOption('-d, --database <name>', 'database the client names')
  .option('-p, --param <name=value>', 'a startup parameter (repeatable)', collect, [])
  .option('--claim <name=value>', 'an identity claim (repeatable)', collect, [])
  .option('--from <ip>', 'client address', '127.0.0.1')
  .option('--at <time>', 'ISO time (default: now)')
  .option('--method <method>', 'authentication method', 'scram-sha-256-plus')
  .option('--tls <version>', 'TLSv1.3, TLSv1.2 or none', 'TLSv1.3')
  .option(
    '--dir <dir>',
    'explain these policy files (default: the version in force where a store is reachable, else the files)',
  )
  .option('--version <n>', 'a stored policy version instead of files', versionNumber)
  .option('--json', 'print the decision as JSON')
  .action(async (o: import('./policy-commands.js').ExplainOptions) => {
    const { policyExplain } = await import('./policy-commands.js');
    const d = await policyExplain(cfg(), o);
    if (d.kind === 'deny') process.exitCode = EXIT.denied;
  });
policy
  .command('schema')
  .description('print (or write) the JSON Schema of policy files, for editors')
  .argument('[file]')
  .action(async (file: string | undefined) => {
    const { policySchema } = await import('./policy-commands.js');
    await policySchema(file);
  });
policy
  .command('versions')
  .description('list stored policy versions')
  .option('--json', 'print them as a JSON array')
  .action(async (o: { json?: boolean }) => {
    const { policyVersions } = await import('./policy-commands.js');
    await policyVersions(cfg(), o);
  });
policy
  .command('show')
  .description('show a stored version and its diff from the one before')
  .argument('<version>', 'version number', versionNumber)
  .option('--json', 'print the version (with its documents and diff) as JSON')
  .action(async (id: number, o: { json?: boolean }) => {
    const { policyShow } = await import('./policy-commands.js');
    await policyShow(cfg(), id, o);
  });
policy
  .command('rollback')
  .description('put an earlier version back in force (as a new version)')
  .argument('<version>', 'version number', versionNumber)
  .action(async (id: number) => {
    const { policyRollback } = await import('./policy-commands.js');
    await policyRollback(cfg(), id);
  });

registerAuditCommands(program, cfg);

/** The first command word on the command line (after `help`, the one help is asked for). */
function commandWord(argv: string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return words[0] === 'help' ? words[1] : words[0];
}

const vault = program.command('vault').description('upstream credentials');
vault
  .command('set')
  .description('store the password of ROLE on TARGET, read from stdin (never from the command line)')
  .argument('<target>')
  .argument('<role>')
  .action(async (target: string, role: string) => {
    const { vaultSet } = await import('./admin-commands.js');
    await vaultSet(cfg(), target, role);
  });
vault
  .command('list')
  .description('list vault entries (names and rotation dates, never secrets)')
  .option('--json', 'print them as a JSON array')
  .action(async (o: { json?: boolean }) => {
    const { vaultList } = await import('./admin-commands.js');
    await vaultList(cfg(), o);
  });

const personRoles = program
  .command('person-roles')
  .description("per-person upstream logins a target's provisioner made (target option personRoles)");
personRoles
  .command('list')
  .description('every login pgward made on TARGET: person, granted role, membership, backends, vault entry')
  .argument('<target>')
  .option('--json', 'print them as a JSON array')
  .action(async (target: string, o: { json?: boolean }) => {
    const { personRolesList } = await import('./person-role-commands.js');
    await personRolesList(cfg(), target, o);
  });
personRoles
  .command('drop')
  .description('drop a login pgward made (a person who left, a grant removed) and its vault entry')
  .argument('<target>')
  .argument('<login>')
  .action(async (target: string, login: string) => {
    const { personRolesDrop } = await import('./person-role-commands.js');
    await personRolesDrop(cfg(), target, login);
  });

/**
 * Command groups whose modules register them next to their work (and import what that work
 * needs at the top): each is loaded only when the command line names one of its words; else
 * a stub lists it in `pgward --help`. connect-command.ts also gives login and logout their
 * config-aware actions, so it loads for those words too.
 */
const LAZY_GROUPS: Array<{ words: string[]; stubs: Array<[string, string]>; load: () => Promise<void> }> = [
  {
    words: ['request'],
    stubs: [['request', 'just-in-time access requests']],
    load: async () => (await import('./request-commands.js')).registerRequestCommands(program, cfg),
  },
  {
    words: ['connect', 'login', 'logout'],
    stubs: [['connect', 'run psql on a database with the token from `pgward login` (through PGPASSWORD, never argv)']],
    load: async () => (await import('./connect-command.js')).registerConnectCommands(program, cfg),
  },
  {
    words: ['api-token'],
    stubs: [['api-token', 'tokens for the console API (automation, remote admins): scoped, revocable, audited']],
    load: async () => (await import('./api-token-commands.js')).registerApiTokenCommands(program, cfg),
  },
  {
    words: ['user'],
    stubs: [['user', 'people: lock one out of pgward for a while, or lift the lock']],
    load: async () => (await import('./user-lock-commands.js')).registerUserLockCommands(program, cfg),
  },
];
const word = commandWord(args);
for (const group of LAZY_GROUPS) {
  if (word !== undefined && group.words.includes(word)) await group.load();
  else for (const [name, description] of group.stubs) program.command(name).description(description);
}

/** `pgward token issue`, for the hint after a usage error: the command words the user typed. */
function commandPath(argv: string[]): string {
  let cmd: Command = program;
  const path = ['pgward'];
  for (const a of argv) {
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return path.join(' ');
}

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version end here with 0; commander has printed its message for the rest.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(EXIT.ok);
    // 'commander.help': a group named without its subcommand; its help is what was printed.
    if (err.code !== 'commander.help') process.stderr.write(`  hint: see ${commandPath(args)} --help\n`);
    process.exit(EXIT.usage);
  }
  const e: CliError = toCliError(err);
  process.stderr.write(formatCliError(e, process.env['PGWARD_DEBUG'] === '1'));
  process.exit(e.exitCode);
}
