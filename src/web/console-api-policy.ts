import type { FastifyInstance } from 'fastify';
import { dryRun, DryRunError, rulesForTarget } from '../policy/dry-run.js';
import { formatProblem, parsePolicyDocuments } from '../policy/loader.js';
import type { PolicyContext } from '../policy/meaning-check.js';
import { policyContextOf } from '../policy/policy-context.js';
import { policyDiff, policyDigest } from '../policy/versioning.js';
import { PolicyQueries, type PolicyVersionRow } from '../store/policy-queries.js';
import { addApiRoute, caller } from './api-route.js';
import * as S from './api-schemas.js';
import type { ApiContext } from './api-context.js';

/**
 * One source of truth (policies/README.md): while the version in force was loaded from policy
 * files, the files are the source and the console changes nothing. Any gateway with a
 * policies.dir stores its files as a version at start and at each change, which would replace
 * a console edit without a word; so the console says so instead of saving.
 */
export function readOnlyReason(latest: Pick<PolicyVersionRow, 'id' | 'source' | 'author'> | null): string | null {
  if (latest?.source !== 'files') return null;
  return (
    `The policy in force (version ${latest.id}) was loaded from policy files by ${latest.author}. ` +
    'Edit the files in policies.dir instead: a change saved here would be replaced by the files at their next change or restart.'
  );
}

/** Admin: the policy editor, its versions, dry runs. */
export function registerPolicyRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const policies = new PolicyQueries(ctx.store);
  /** Names in the documents are checked against this gateway's targets, known groups and vault. */
  const policyContext = async (): Promise<PolicyContext> =>
    policyContextOf(ctx.config, await ctx.store.listVaultEntries());
  const targets = () =>
    Object.entries(ctx.config.targets).map(([name, t]) => ({
      name,
      database: t.database,
      databases: t.databases,
      role: t.role,
    }));

  addApiRoute(api, {
    method: 'GET',
    url: '/api/policy',
    config: { role: 'admin' },
    schema: { summary: 'The policy documents in force and their version', response: S.policyInForce },
    handler: async () => {
      const latest = await policies.latest();
      return {
        version: latest?.id ?? null,
        documents: latest?.documents ?? {},
        author: latest?.author ?? null,
        createdAt: latest?.createdAt ?? null,
        source: latest?.source ?? null,
        readOnly: readOnlyReason(latest),
      };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy/validate',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Validate documents; problems with file, line and column',
      body: S.documents,
      response: S.validation,
    },
    handler: async (req) => {
      const loaded = parsePolicyDocuments(req.body.documents, null, await policyContext());
      return loaded.ok
        ? {
            ok: true,
            rules: loaded.set.rules.length,
            problems: loaded.warnings.map((p) => ({ ...p, text: formatProblem(p) })),
          }
        : { ok: false, problems: loaded.problems.map((p) => ({ ...p, text: formatProblem(p) })) };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy/diff',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'Unified diff from the version in force', body: S.documents, response: S.diff },
    handler: async (req) => {
      const latest = await policies.latest();
      return { diff: policyDiff(latest?.documents ?? null, req.body.documents) };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'Save documents as a new version (validated whole)', body: S.saveDocuments, response: S.saved },
    handler: async (req, reply) => {
      const s = caller(req);
      const refused = readOnlyReason(await policies.latest());
      if (refused) return reply.code(409).send({ error: refused });
      const { documents, comment } = req.body;
      const loaded = parsePolicyDocuments(documents, null, await policyContext());
      if (!loaded.ok)
        return reply.code(422).send({ error: 'the policy is invalid', problems: loaded.problems.map(formatProblem) });
      const { id, created } = await policies.append({
        author: `${s.user} (console)`,
        source: 'console',
        documents,
        digest: policyDigest(documents),
        diff: (prev) => policyDiff(prev, documents),
        comment,
      });
      await ctx.adminEvent(s.user, 'policy.save', { version: id, created });
      return { version: id, created };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/policy/versions',
    config: { role: 'admin' },
    schema: { summary: 'Stored versions with author, time, source and diff', response: S.versions },
    handler: async () => policies.list(),
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy/rollback',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Put an earlier version back in force (as a new version)',
      body: S.rollback,
      response: S.rolledBack,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      const refused = readOnlyReason(await policies.latest());
      if (refused) return reply.code(409).send({ error: refused });
      const to = req.body.version;
      const v = await policies.version(to);
      if (!v) return reply.code(404).send({ error: 'no such version' });
      const { id } = await policies.append({
        author: `${s.user} (console)`,
        source: 'rollback',
        documents: v.documents,
        digest: policyDigest(v.documents),
        diff: (prev) => policyDiff(prev, v.documents),
        comment: `rollback to version ${to}`,
      });
      await ctx.adminEvent(s.user, 'policy.rollback', { to, version: id });
      return { version: id };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy/dry-run',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'The decision a connection would get', body: S.dryRunRequest, response: S.decision },
    handler: async (req, reply) => {
      const b = req.body;
      try {
        return dryRun(ctx.policy.current(), targets(), {
          ...b,
          params: Object.entries(b.params),
          at: b.at ? new Date(b.at) : new Date(),
        });
      } catch (err) {
        if (err instanceof DryRunError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/policy/who-can-reach',
    config: { role: 'admin' },
    schema: {
      summary: 'Rules that can apply to a target (?target=)',
      querystring: S.targetQuery,
      response: S.reachingRules,
    },
    handler: async (req) => rulesForTarget(ctx.policy.current(), req.query.target ?? '*'),
  });
}
