import { z } from 'zod';

/* The console API's shapes for API tokens (docs/api-tokens.md). The token value appears in
 * exactly one response, the one that creates it. */

const scope = z.enum(['admin', 'auditor']);

export const apiTokenCreate = z
  .object({
    name: z.string().min(1).max(63),
    scopes: z.array(scope).min(1),
    /** Lifetime such as 30d or 12h; at most 365d. */
    ttl: z.string().min(1).default('90d'),
  })
  .strict();

export const apiTokenCreated = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(scope),
  expiresAt: z.date(),
  /** Shown once: store it in your secret manager now. */
  token: z.string(),
});

export const apiTokens = z.array(
  z.object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(scope),
    createdBy: z.string(),
    createdAt: z.date(),
    expiresAt: z.date(),
    revokedAt: z.date().nullable(),
    revokedBy: z.string().nullable(),
    lastUsedAt: z.date().nullable(),
    lastUsedFrom: z.string().nullable(),
  }),
);

export const apiTokenRef = z.object({ id: z.string().min(1).max(63) });
export const apiTokenRevoked = z.object({ id: z.string(), name: z.string(), revokedAt: z.date() });
