import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { previewMasking } from '../mask/preview.js';
import { formatProblem, parsePolicyDocuments } from '../policy/loader.js';
import { policyContextOf } from '../policy/policy-context.js';
import type { ApiContext } from './api-context.js';
import { addApiRoute } from './api-route.js';
import { maskingPreview, maskingPreviewRequest } from './api-schemas-masking.js';

/**
 * Masking preview for the policy editor (docs/masking.md): a sample result, masked as the
 * sessions of a chosen rule would see it, from the documents being edited (saved or not).
 * Nothing is read from a database: the admin gives the sample. Hash values use a key of
 * this console process, not the gateways' (the preview must not be an oracle for them).
 */

const previewKey = randomBytes(32);

export function registerMaskingRoutes(api: FastifyInstance, ctx: ApiContext): void {
  addApiRoute(api, {
    method: 'POST',
    url: '/api/policy/masking-preview',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: "A sample result masked as a rule's sessions would see it",
      body: maskingPreviewRequest,
      response: maskingPreview,
    },
    handler: async (req, reply) => {
      const { documents, rule, columns, rows } = req.body;
      const loaded = parsePolicyDocuments(
        documents,
        null,
        policyContextOf(ctx.config, await ctx.store.listVaultEntries()),
      );
      if (!loaded.ok)
        return reply.code(422).send({ error: 'the policy is invalid', problems: loaded.problems.map(formatProblem) });
      const found = loaded.set.rules.find((r) => r.rule.name === rule);
      if (!found) return reply.code(404).send({ error: `no rule named ${rule}` });
      const masking = found.rule.effect === 'allow' ? found.rule.session.masking : undefined;
      if (!masking)
        return {
          rule,
          masking: false,
          columns: columns.map((name) => ({ name, rule: null, strategy: null })),
          before: rows,
          after: rows,
          masked: {},
        };
      const p = previewMasking(masking, columns, rows, previewKey);
      return { rule, masking: true, columns: p.columns, before: rows, after: p.rows, masked: p.masked };
    },
  });
}
