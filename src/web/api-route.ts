import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { z } from 'zod';
import type { WebSession } from './session.js';

export type Role = 'developer' | 'admin' | 'auditor';
/** Who may call a route: anyone signed in, or holders of a role. */
export type Access = 'signed-in' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Console API: who may call the route (checked in one hook before the body is read). */
    role?: Access;
    /** Console API: a state change, which needs the session's CSRF token in x-csrf-token. */
    csrf?: boolean;
  }
  interface FastifyRequest {
    /** The signed-in caller of a console API route, set by the access hook. */
    webSession: WebSession | null;
  }
}

/** Every error the API answers itself has this shape. */
export const errorBody = z.object({
  error: z.string(),
  issues: z.array(z.string()).optional(),
  problems: z.array(z.string()).optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

/** A download rather than JSON (the export files). */
export const FILE = 'file' as const;

export interface ApiSchemas {
  summary: string;
  body?: z.ZodType;
  params?: z.ZodType;
  querystring?: z.ZodType;
  response: z.ZodType | typeof FILE;
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;
type Answer<R> = R extends z.ZodType ? z.input<R> : never;

export type ApiRequest<S extends ApiSchemas> = FastifyRequest<{
  Body: Parsed<S['body']>;
  Params: Parsed<S['params']>;
  Querystring: Parsed<S['querystring']>;
}>;

/** A console API route: fastify's route options, with zod schemas that also type the handler. */
export interface ApiRoute<S extends ApiSchemas> {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  config: { role: Access; csrf?: boolean };
  schema: S;
  handler: (req: ApiRequest<S>, reply: FastifyReply) => Promise<Answer<S['response']> | FastifyReply>;
}

/**
 * JSON Schema (draft 7, what fastify's Ajv speaks) from a zod schema. Requests are described
 * as they arrive (defaults optional), responses as they leave; a Date leaves as a date-time
 * string (fast-json-stringify writes it with toISOString).
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema._zod.def.type === 'date') {
        ctx.jsonSchema.type = 'string';
        ctx.jsonSchema.format = 'date-time';
      }
    },
  });
  return rest;
}

const ERROR_SCHEMA = jsonSchema(errorBody, 'output');

/** The route's schemas as fastify takes them (validation, serialization, OpenAPI). */
export function fastifySchema(s: ApiSchemas): Record<string, unknown> {
  return {
    summary: s.summary,
    ...(s.body ? { body: jsonSchema(s.body, 'input') } : {}),
    ...(s.params ? { params: jsonSchema(s.params, 'input') } : {}),
    ...(s.querystring ? { querystring: jsonSchema(s.querystring, 'input') } : {}),
    response: {
      200:
        s.response === FILE
          ? {
              description: 'The file',
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            }
          : jsonSchema(s.response, 'output'),
      '4xx': ERROR_SCHEMA,
    },
  };
}

export function addApiRoute<S extends ApiSchemas>(app: FastifyInstance, r: ApiRoute<S>): void {
  app.route({
    method: r.method satisfies HTTPMethods,
    url: r.url,
    config: { role: r.config.role, csrf: r.config.csrf ?? false },
    schema: fastifySchema(r.schema),
    handler: r.handler as (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  });
}

/** The caller, as the access hook found them (every API route has one). */
export function caller(req: FastifyRequest): WebSession {
  if (!req.webSession) throw new Error('console API route reached without the access hook');
  return req.webSession;
}
