#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { tokenIssue, tokenRevoke, vaultList, vaultSet } from './admin-commands.js';
import { login, logout } from './login.js';
import {
  policyCheck,
  policyExplain,
  policyRollback,
  policySchema,
  policyShow,
  policyVersions,
} from './policy-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerRequestCommands } from './request-commands.js';
import { personRolesDrop, personRolesList } from './person-role-commands.js';
import { start } from './start.js';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a port number');
  return n;
};

const program = new Command()
  .name('pgward')
  .description('Authentication broker gateway for PostgreSQL')
  .option('-c, --config <file>', 'configuration file (default: ./pgward.yaml, else the embedded default)');

program
  .command('start')
  .description('run the gateway (with no store configured: embedded Postgres, dev certificates, demo database)')
  .option('-p, --port <port>', 'listen port', port)
  .action((o: { port?: number }) => start({ config: program.opts<{ config?: string }>().config, port: o.port }));

const DEFAULT_GATEWAY = process.env['PGWARD_URL'] ?? 'http://127.0.0.1:8432';

program
  .command('login')
  .description('sign in through the browser and write a ~/.pgpass entry for psql')
  .option('-g, --gateway <url>', 'the gateway console URL (env PGWARD_URL)', DEFAULT_GATEWAY)
  .option('--device', 'device code flow: sign in from a browser on another machine')
  .option('--no-open', 'print the sign-in URL instead of opening a browser')
  .action(async (o: { gateway: string; device?: boolean; open: boolean }) => {
    await login({ gateway: o.gateway, device: o.device ?? false, open: o.open });
  });

program
  .command('logout')
  .description('revoke the token from `pgward login` and remove its ~/.pgpass entry')
  .option('-g, --gateway <url>', 'the gateway console URL (env PGWARD_URL)', DEFAULT_GATEWAY)
  .action(async (o: { gateway: string }) => {
    await logout({ gateway: o.gateway });
  });

const token = program.command('token').description('gateway tokens');
token
  .command('issue')
  .description('mint a token (printed on stdout) and store its SCRAM verifier')
  .requiredOption('-u, --user <name>', 'user name')
  .option('-g, --groups <list>', 'comma-separated groups', '')
  .option('-t, --ttl <duration>', 'lifetime such as 15m, 8h, 7d')
  .option('--json', 'print JSON with jti and expiry')
  .action((o: { user: string; groups: string; ttl?: string; json?: boolean }) =>
    tokenIssue(program.opts<{ config?: string }>().config, o),
  );
token
  .command('revoke')
  .description('revoke one token by jti, or every token of a user')
  .argument('[jti]', 'token id')
  .option('-u, --user <name>', 'revoke all tokens of this user')
  .option('--end-sessions', 'also end live sessions using the token (or of the user) on every gateway')
  .action((jti: string | undefined, o: { user?: string; endSessions?: boolean }) =>
    tokenRevoke(program.opts<{ config?: string }>().config, jti, o),
  );

const cfg = (): string | undefined => program.opts<{ config?: string }>().config;
const versionNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a version number');
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

const policy = program.command('policy').description('access policies');
policy
  .command('check')
  .description('validate policy files; problems are printed as FILE:LINE:COLUMN: message')
  .argument('[dir]', 'policy directory (default: policies.dir from the config, else ./policies)')
  .action(async (dir: string | undefined) => {
    if (!(await policyCheck(cfg(), dir))) process.exitCode = 1;
  });
policy
  .command('explain')
  .description('show the decision for a connection and the rule that makes it')
  .requiredOption('-u, --user <name>', 'user name')
  .option('-g, --groups <list>', 'comma-separated groups')
  .requiredOption('-d, --database <name>', 'database the client names')
  .option('-p, --param <name=value>', 'a startup parameter (repeatable)', collect, [])
  .option('--claim <name=value>', 'an identity claim (repeatable)', collect, [])
  .option('--from <ip>', 'client address', '127.0.0.1')
  .option('--at <time>', 'ISO time (default: now)')
  .option('--method <method>', 'authentication method', 'scram-sha-256-plus')
  .option('--tls <version>', 'TLSv1.3, TLSv1.2 or none', 'TLSv1.3')
  .option('--dir <dir>', 'policy directory')
  .option('--version <n>', 'a stored policy version instead of files', versionNumber)
  .action(
    async (o: {
      user: string;
      groups?: string;
      database: string;
      param: string[];
      claim: string[];
      from: string;
      at?: string;
      method: string;
      tls: string;
      dir?: string;
      version?: number;
    }) => {
      const d = await policyExplain(cfg(), o);
      if (d.kind === 'deny') process.exitCode = 2;
    },
  );
policy
  .command('schema')
  .description('print (or write) the JSON Schema of policy files, for editors')
  .argument('[file]')
  .action((file: string | undefined) => policySchema(file));
policy
  .command('versions')
  .description('list stored policy versions')
  .action(() => policyVersions(cfg()));
policy
  .command('show')
  .description('show a stored version and its diff from the one before')
  .argument('<version>', 'version number', versionNumber)
  .action((id: number) => policyShow(cfg(), id));
policy
  .command('rollback')
  .description('put an earlier version back in force (as a new version)')
  .argument('<version>', 'version number', versionNumber)
  .action(async (id: number) => {
    await policyRollback(cfg(), id);
  });

registerAuditCommands(program, cfg);
registerRequestCommands(program, cfg);

const vault = program.command('vault').description('upstream credentials');
vault
  .command('set')
  .description('store the password of ROLE on TARGET, read from stdin (never from the command line)')
  .argument('<target>')
  .argument('<role>')
  .action((target: string, role: string) => vaultSet(program.opts<{ config?: string }>().config, target, role));
vault
  .command('list')
  .description('list vault entries (names and rotation dates, never secrets)')
  .action(() => vaultList(program.opts<{ config?: string }>().config));

const personRoles = program
  .command('person-roles')
  .description("per-person upstream logins a target's provisioner made (target option personRoles)");
personRoles
  .command('list')
  .description('every login pgward made on TARGET: person, granted role, membership, backends, vault entry')
  .argument('<target>')
  .action((target: string) => personRolesList(program.opts<{ config?: string }>().config, target));
personRoles
  .command('drop')
  .description('drop a login pgward made (a person who left, a grant removed) and its vault entry')
  .argument('<target>')
  .argument('<login>')
  .action((target: string, login: string) =>
    personRolesDrop(program.opts<{ config?: string }>().config, target, login),
  );

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`pgward: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
