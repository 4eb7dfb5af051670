import { stat, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import { dryRun, DryRunError } from '../policy/dry-run.js';
import type { Decision } from '../policy/evaluate.js';
import { formatProblem, loadPolicyDir, parsePolicyDocuments, readPolicyDir } from '../policy/loader.js';
import { policyContextOf } from '../policy/policy-context.js';
import { policyJsonSchema, type PolicySet } from '../policy/schema.js';
import { policyDiff, policyDigest } from '../policy/versioning.js';
import { PolicyQueries } from '../store/policy-queries.js';
import { loadCliConfig, locateStore, withControlPlane } from './cli-context.js';
import { CliError, CliUsageError, toCliError } from './cli-errors.js';
import { note, out, printJson } from './output.js';

// Other command files import it from here.
export { CliUsageError } from './cli-errors.js';

function policyDirOf(config: GatewayConfig, dir: string | undefined): string {
  return resolve(dir ?? config.policies.dir ?? 'policies');
}

/** The policy directory, which must exist: a missing one is named with where the name came from. */
async function existingPolicyDir(config: GatewayConfig, dir: string | undefined): Promise<string> {
  const path = policyDirOf(config, dir);
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    const from = dir
      ? 'the directory given'
      : config.policies.dir
        ? 'policies.dir in the configuration'
        : 'the default ./policies';
    throw new CliUsageError(`no policy directory ${path} (${from})`, {
      hint: 'give the directory (pgward policy check DIR, --dir DIR) or set policies.dir in pgward.yaml',
    });
  }
  return path;
}

/**
 * `pgward policy check [DIR]`: every problem as FILE:LINE:COLUMN: message (exit 1), warnings
 * too. Names are checked for meaning against this configuration's targets and
 * policies.knownGroups (src/policy/meaning-check.ts), as the gateway and the console editor
 * check them; with no targets configured (the embedded default adds its own) only the
 * detector profiles are.
 */
export async function policyCheck(
  configPath: string | undefined,
  dir: string | undefined,
  o: { json?: boolean | undefined } = {},
): Promise<boolean> {
  const config = await loadCliConfig(configPath);
  const path = await existingPolicyDir(config, dir);
  const context = Object.keys(config.targets).length > 0 ? policyContextOf(config) : null;
  const loaded = parsePolicyDocuments(await readPolicyDir(path), null, context);
  const found = loaded.ok ? loaded.warnings : loaded.problems;
  if (o.json) {
    printJson({
      dir: path,
      ok: loaded.ok,
      files: Object.keys(loaded.documents).length,
      rules: loaded.ok ? loaded.set.rules.length : null,
      problems: found.map((p) => ({
        file: resolve(path, p.file),
        line: p.line,
        column: p.column,
        severity: p.severity ?? 'error',
        message: p.message,
      })),
    });
    return loaded.ok;
  }
  for (const p of found)
    process.stderr.write(
      `${resolve(path, p.file)}:${p.line}:${p.column}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}\n`,
    );
  if (!loaded.ok) return false;
  const allows = loaded.set.rules.filter((r) => r.rule.effect === 'allow').length;
  const warned = loaded.warnings.length ? `, ${loaded.warnings.length} warning(s)` : '';
  out(
    `${path}: ${loaded.set.rules.length} rules (${allows} allow, ${loaded.set.rules.length - allows} deny) in ${Object.keys(loaded.documents).length} files: OK${warned}`,
  );
  return true;
}

export interface ExplainOptions {
  user: string;
  groups?: string | undefined;
  database: string;
  param?: string[] | undefined;
  claim?: string[] | undefined;
  from?: string | undefined;
  at?: string | undefined;
  method?: string | undefined;
  tls?: string | undefined;
  dir?: string | undefined;
  version?: number | undefined;
  json?: boolean | undefined;
}

const noVersion = (id: number): CliError =>
  new CliError(`no policy version ${id}`, { hint: 'pgward policy versions lists the stored ones' });

function pairs(list: string[] | undefined, what: string): Array<[string, string]> {
  return (list ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CliUsageError(`--${what} takes name=value, not "${kv}"`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/**
 * The version the gateways apply now (the latest stored: files as loaded, console saves,
 * rollbacks), where a store is configured or an embedded pgward runs here; null without a
 * store or a stored version. A store that cannot be reached is said, and the files are used.
 */
async function versionInForce(config: GatewayConfig, configPath: string | undefined): Promise<PolicySet | null> {
  try {
    await locateStore(config);
  } catch {
    return null;
  }
  try {
    return await withControlPlane(configPath, async (cp) => {
      const v = await new PolicyQueries(cp.store).latest();
      if (!v) return null;
      const loaded = parsePolicyDocuments(v.documents, v.id);
      return loaded.ok ? loaded.set : null;
    });
  } catch (err) {
    note(`note: the version in force is not known (${toCliError(err).message}); explaining the policy files instead`);
    return null;
  }
}

async function policyFor(
  config: GatewayConfig,
  configPath: string | undefined,
  o: { dir?: string | undefined; version?: number | undefined },
): Promise<PolicySet> {
  if (o.version !== undefined) {
    return withControlPlane(configPath, async (cp) => {
      const v = await new PolicyQueries(cp.store).version(o.version!);
      if (!v) throw noVersion(o.version!);
      const loaded = parsePolicyDocuments(v.documents, v.id);
      if (!loaded.ok) throw new CliUsageError(loaded.problems.map(formatProblem).join('\n'));
      return loaded.set;
    });
  }
  if (o.dir === undefined) {
    const inForce = await versionInForce(config, configPath);
    if (inForce) return inForce;
  }
  const loaded = await loadPolicyDir(await existingPolicyDir(config, o.dir));
  if (!loaded.ok)
    throw new CliError(`the policies are invalid:\n${loaded.problems.map(formatProblem).join('\n')}`, {
      hint: 'pgward policy check names each problem with its file, line and column',
    });
  return loaded.set;
}

/** `pgward policy explain`: the decision for a hypothetical connection, and the rule behind it. */
export async function policyExplain(configPath: string | undefined, o: ExplainOptions): Promise<Decision> {
  const config = await loadCliConfig(configPath);
  const set = await policyFor(config, configPath, o);
  const at = o.at ? new Date(o.at) : new Date();
  if (Number.isNaN(at.getTime())) throw new CliUsageError(`--at: not a time: ${o.at}`);
  const targets = Object.entries(config.targets).map(([name, t]) => ({
    name,
    database: t.database,
    databases: t.databases,
    role: t.role,
  }));
  let decision: Decision;
  try {
    decision = dryRun(set, targets, {
      user: o.user,
      groups: (o.groups ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean),
      database: o.database,
      params: pairs(o.param, 'param'),
      claims: Object.fromEntries(pairs(o.claim, 'claim')),
      from: o.from,
      at,
      method: o.method,
      tls: o.tls,
    });
  } catch (err) {
    if (err instanceof DryRunError) throw new CliUsageError(`--method: ${err.message}`);
    throw err;
  }
  if (o.json) printJson({ ...decision, policyVersion: set.version });
  else printDecision(decision, set);
  return decision;
}

function printDecision(d: Decision, set: PolicySet): void {
  const version = set.version === null ? 'files' : `version ${set.version}`;
  if (d.kind === 'grant') {
    out(`GRANT by rule ${d.rule} (${d.file}, ${version})`);
    out(`  upstream: target ${d.target}, database ${d.database}, role ${d.role}`);
    const s = d.session;
    // Durations as the policy writes them (8h, not 28800s): the rule is what people look for.
    const written = set.rules.find((r) => r.rule.name === d.rule)?.rule;
    const asWritten = (ms: number | null, text: string | undefined): string =>
      ms === null ? 'none' : (text ?? `${ms / 1000}s`);
    const session = written?.effect === 'allow' ? written.session : undefined;
    out(
      `  session: ${s.readOnly ? 'read-only' : 'read-write'}, max duration ${asWritten(s.maxDurationMs, session?.maxDuration)}, idle timeout ${asWritten(s.idleTimeoutMs, session?.idleTimeout)}, detector ${s.detector}`,
    );
    out(`  forwarded parameters: ${d.forward.map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`);
  } else {
    out(`DENY${d.rule ? ` by rule ${d.rule}` : ''} (${version})`);
    out(`  reason: ${d.reason}`);
    out(`  the client sees: FATAL ${d.code} ${d.message}`);
    if (d.hint) out(`  hint: ${d.hint}`);
  }
  for (const { rule } of set.rules) {
    if (rule.effect !== 'allow' || !rule.requestable) continue;
    const r = rule.requestable;
    const reason = r.reason.required
      ? `reason required${r.reason.pattern ? ` matching /${r.reason.pattern}/` : ''}`
      : 'reason optional';
    out(
      `  requestable: rule ${rule.name}, approvers ${r.approvers.groups.join(',')} x${r.approvals}, at most ${r.maxDuration}, ${reason}, self-approval ${r.selfApproval}`,
    );
  }
}

/** `pgward policy schema [FILE]`: the JSON Schema of policy files. */
export async function policySchema(file: string | undefined): Promise<void> {
  const text = JSON.stringify(policyJsonSchema(), null, 2) + '\n';
  if (file) await writeFile(file, text);
  else process.stdout.write(text);
}

export function policyVersions(configPath: string | undefined, o: { json?: boolean | undefined } = {}): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    const rows = await new PolicyQueries(cp.store).list();
    if (o.json) {
      printJson(
        rows.map((v) => ({
          id: v.id,
          createdAt: v.createdAt.toISOString(),
          source: v.source,
          author: v.author,
          comment: v.comment ?? null,
          digest: v.digest,
        })),
      );
      return;
    }
    if (rows.length === 0) out('no policy versions stored');
    for (const v of rows)
      out(
        `${String(v.id).padStart(5)}  ${v.createdAt.toISOString()}  ${v.source.padEnd(8)}  ${v.author}${v.comment ? `  (${v.comment})` : ''}`,
      );
  });
}

export function policyShow(
  configPath: string | undefined,
  id: number,
  o: { json?: boolean | undefined } = {},
): Promise<void> {
  return withControlPlane(configPath, async (cp) => {
    const v = await new PolicyQueries(cp.store).version(id);
    if (!v) throw noVersion(id);
    if (o.json) {
      printJson({
        id: v.id,
        createdAt: v.createdAt.toISOString(),
        source: v.source,
        author: v.author,
        comment: v.comment ?? null,
        digest: v.digest,
        documents: v.documents,
        diff: v.diff,
      });
      return;
    }
    out(
      `version ${v.id} by ${v.author} at ${v.createdAt.toISOString()} (${v.source})${v.comment ? `: ${v.comment}` : ''}`,
    );
    process.stdout.write(v.diff || '(no changes)\n');
  });
}

/** `pgward policy rollback N`: a new version with the documents of version N, in force at once everywhere. */
export function policyRollback(configPath: string | undefined, id: number): Promise<number> {
  return withControlPlane(configPath, async (cp) => {
    const q = new PolicyQueries(cp.store);
    const v = await q.version(id);
    if (!v) throw noVersion(id);
    const { id: created } = await q.append({
      author: `${userInfo().username}@${hostname()} (cli)`,
      source: 'rollback',
      documents: v.documents,
      digest: policyDigest(v.documents),
      diff: (prev) => policyDiff(prev, v.documents),
      comment: `rollback to version ${id}`,
    });
    out(`version ${created} restores version ${id}; gateways apply it within a second`);
    return created;
  });
}
