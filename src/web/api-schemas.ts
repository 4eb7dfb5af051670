import { z } from 'zod';
import { EXPORT_FORMATS } from '../audit/formats.js';

/*
 * The console API's request and response shapes. Responses list their fields: the
 * serializer drops anything else, so a new column never reaches the browser by accident.
 */

const time = z.date();
const maybeTime = z.date().nullable();
const text = z.string().nullable();
export const sessionId = z.object({ id: z.uuid() });

export const me = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  roles: z.array(z.enum(['developer', 'admin', 'auditor'])),
  csrf: z.string(),
  tokenExpiresAt: z.string(),
});

export const myTokens = z.array(
  z.object({
    jti: z.string(),
    groups: z.array(z.string()),
    issuedAt: time,
    expiresAt: time,
    revokedAt: maybeTime,
    revokedReason: text,
    issuedBy: z.string(),
  }),
);

export const mySessions = z.array(
  z.object({
    id: z.string(),
    target: text,
    database: text,
    clientAddr: z.string(),
    startedAt: time,
    endedAt: maybeTime,
    endReason: text,
    statements: z.number(),
    anomalies: z.number(),
    policyRule: text,
  }),
);

// ---- policies --------------------------------------------------------------------------

export const documents = z.object({
  documents: z.record(z.string().regex(/^[\w.-]+\.ya?ml$/), z.string().max(1_000_000)),
});
export const saveDocuments = documents.extend({ comment: z.string().max(500).optional() });

export const policyInForce = z.object({
  version: z.number().nullable(),
  documents: z.record(z.string(), z.string()),
  author: text,
  createdAt: maybeTime,
  /** Where the version in force came from: files (a gateway's policies.dir), console, rollback, cli. */
  source: z.enum(['files', 'console', 'rollback', 'cli']).nullable(),
  /** Why the console may not change the policy (files are its source), or null when it may. */
  readOnly: z.string().nullable(),
});

export const validation = z.object({
  ok: z.boolean(),
  rules: z.number().optional(),
  problems: z.array(
    z.object({
      file: z.string(),
      line: z.number(),
      column: z.number(),
      message: z.string(),
      text: z.string(),
      /** A warning lets the policy through (ok stays true). */
      severity: z.enum(['warning']).optional(),
    }),
  ),
});

export const diff = z.object({ diff: z.string() });
export const saved = z.object({ version: z.number(), created: z.boolean() });
export const versions = z.array(
  z.object({
    id: z.number(),
    createdAt: time,
    author: z.string(),
    source: z.string(),
    comment: text,
    diff: z.string(),
  }),
);
export const rollback = z.object({ version: z.number().int().positive() });
export const rolledBack = z.object({ version: z.number() });

export const dryRunRequest = z.object({
  user: z.string().min(1),
  groups: z.array(z.string()).default([]),
  database: z.string().min(1),
  from: z.string().optional(),
  at: z.string().optional(),
  method: z.string().optional(),
  params: z.record(z.string(), z.string()).default({}),
});

export const decision = z.union([
  z.object({
    kind: z.literal('grant'),
    rule: z.string(),
    file: z.string(),
    target: z.string(),
    database: z.string(),
    role: z.string(),
    forward: z.array(z.tuple([z.string(), z.string()])),
    replication: text,
    session: z.object({
      readOnly: z.boolean(),
      maxDurationMs: z.number().nullable(),
      idleTimeoutMs: z.number().nullable(),
      detector: z.string(),
    }),
    policyVersion: z.number().nullable(),
  }),
  z.object({
    kind: z.literal('deny'),
    rule: text,
    reason: z.string(),
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
  }),
]);

export const targetQuery = z.object({ target: z.string().optional() });
export const reachingRules = z.array(
  z.object({
    name: z.string(),
    effect: z.string(),
    file: z.string(),
    subjects: z.unknown(),
    role: text,
    conditions: z.array(z.string()),
  }),
);

// ---- targets, vault, sessions, tokens ------------------------------------------------------

export const targets = z.array(
  z.object({
    name: z.string(),
    host: z.string(),
    port: z.number(),
    database: z.string(),
    role: z.string(),
    tls: z.string(),
    credentials: z.array(z.object({ role: z.string(), rotatedAt: time })),
  }),
);
export const vaultSet = z.object({
  target: z.string().min(1),
  role: z.string().min(1),
  secret: z.string().min(1).max(10_000),
});
export const vaultStored = z.object({ target: z.string(), role: z.string(), stored: z.boolean() });

export const liveSessions = z.array(
  z.object({
    id: z.string(),
    gatewayId: z.string(),
    username: text,
    target: text,
    database: text,
    clientAddr: z.string(),
    startedAt: time,
    policyRule: text,
  }),
);
export const killed = z.object({ killed: z.string(), local: z.boolean() });

export const tokenId = z.object({ jti: z.uuid() });
export const userName = z.object({ user: z.string().min(1) });
export const endSessions = (byDefault: boolean) => z.object({ endSessions: z.boolean().default(byDefault) });
export const tokenRevoked = z.object({ revoked: z.boolean() });
export const userRevoked = z.object({ revoked: z.number() });
export const userQuery = z.object({ user: z.string().optional() });
export const liveTokens = z.array(
  z.object({
    jti: z.string(),
    username: z.string(),
    groups: z.array(z.string()),
    issuedAt: time,
    expiresAt: time,
    issuedBy: z.string(),
  }),
);

// ---- audit -------------------------------------------------------------------------------

export const sessionSearch = z.object({
  user: z.string().optional(),
  target: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  /** An anomaly kind, or '*' for any. */
  anomaly: z.string().optional(),
  endReason: z.string().optional(),
});

const sessionSummaryFields = {
  id: z.string(),
  username: text,
  target: text,
  database: text,
  upstreamRole: text,
  clientAddr: z.string(),
  startedAt: time,
  endedAt: maybeTime,
  endReason: text,
  statements: z.number(),
  anomalies: z.number(),
  authMethod: text,
  policyRule: text,
  policyVersion: z.number().nullable(),
};
export const sessionSummaries = z.array(z.object(sessionSummaryFields));

export const sessionDetail = z.object({
  session: z.object({
    ...sessionSummaryFields,
    gatewayId: z.string(),
    groups: z.array(z.string()),
    tokenJti: text,
    clientPort: z.number().nullable(),
    applicationName: text,
    tlsVersion: text,
    tlsCipher: text,
    alpn: text,
    channelBinding: z.boolean(),
    readOnly: z.boolean(),
    readyAt: maybeTime,
    stageMs: z.record(z.string(), z.number()),
    bytesFromClient: z.number(),
    bytesToClient: z.number(),
    messagesFromClient: z.number(),
    rowsToClient: z.number(),
    chainHead: text,
    chainLength: z.number(),
  }),
  events: z.array(
    z.object({
      seq: z.number(),
      at: time,
      kind: z.string(),
      hash: z.string(),
      payload: z.record(z.string(), z.unknown()).nullable(),
      runs: z
        .array(
          z.object({
            at: time,
            sql: z.array(z.string()),
            rows: z.number(),
            bytes: z.number(),
            ms: z.number(),
            outcome: z.string(),
            error: text,
          }),
        )
        .nullable(),
    }),
  ),
});

export const anomalies = z.object({
  series: z.array(z.object({ bucket: time, kind: z.string(), n: z.number() })),
  recent: z.array(
    z.object({
      at: time,
      sessionId: text,
      username: text,
      kind: z.string(),
      severity: z.string(),
      action: z.string(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
});

export const exportRequest = z.object({
  from: z.string(),
  to: z.string().optional(),
  user: z.string().optional(),
  format: z.enum(EXPORT_FORMATS).default('jsonl'),
});
export const exported = z.object({
  id: z.string(),
  events: z.number(),
  sessions: z.number(),
  file: z.string(),
  manifest: z.string(),
});
export const exportPart = z.object({ id: z.uuid(), part: z.enum(['file', 'manifest']) });

export const openApi = z.record(z.string(), z.unknown());

/** A value as it arrives in the browser: JSON, so a Date is its ISO string. */
export type Wire<T> = T extends Date
  ? string
  : T extends ReadonlyArray<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** The body of a successful answer of a route with this response schema, as the browser reads it. */
export type ApiResponse<S extends z.ZodType> = Wire<z.output<S>>;
/** The body a route with this request schema accepts. */
export type ApiRequestBody<S extends z.ZodType> = z.input<S>;
