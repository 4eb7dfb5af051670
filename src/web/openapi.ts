import type { Access } from './api-route.js';

/** A registered console API route, as the OpenAPI document is built from it. */
export interface DescribedRoute {
  method: string;
  url: string;
  role: Access;
  csrf: boolean;
  /** The route's fastify schema (JSON Schema: summary, body, params, querystring, response). */
  schema: Record<string, unknown>;
}

/** Fastify route paths (":id") as OpenAPI paths ("{id}"). */
export const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

type JsonObject = Record<string, unknown>;

/**
 * Route schemas are JSON Schema draft 7 (what fastify's Ajv validates); OpenAPI 3.1 speaks
 * 2020-12. The one difference our schemas can hold is the tuple: draft 7's array-form
 * `items` plus `additionalItems` is 2020-12's `prefixItems` plus `items`.
 */
export function toDraft2020(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toDraft2020);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: JsonObject = {};
  const o = schema as JsonObject;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'items' && Array.isArray(v)) {
      out['prefixItems'] = v.map(toDraft2020);
      if ('additionalItems' in o) out['items'] = toDraft2020(o['additionalItems']);
    } else if (k === 'additionalItems' && Array.isArray(o['items'])) {
      continue;
    } else {
      out[k] = toDraft2020(v);
    }
  }
  return out;
}
const objectProperties = (s: unknown): Array<[string, JsonObject, boolean]> => {
  const o = (s ?? {}) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(o.properties ?? {}).map(([name, schema]) => [
    name,
    schema,
    o.required?.includes(name) ?? false,
  ]);
};

function operation(r: DescribedRoute): JsonObject {
  const s = r.schema as {
    summary?: string;
    body?: JsonObject;
    params?: JsonObject;
    querystring?: JsonObject;
    response?: Record<string, JsonObject>;
  };
  const parameters = [
    ...objectProperties(s.params).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
    ...objectProperties(s.querystring).map(([name, schema, required]) => ({ name, in: 'query', required, schema })),
    ...(r.csrf
      ? [
          {
            name: 'x-csrf-token',
            in: 'header',
            required: true,
            schema: { type: 'string' },
            description: 'The CSRF token from /api/me',
          },
        ]
      : []),
  ];
  const ok = s.response?.['200'] ?? {};
  const okResponse = 'content' in ok ? ok : { description: 'OK', content: { 'application/json': { schema: ok } } };
  const errorContent = s.response?.['4xx'] ? { content: { 'application/json': { schema: s.response['4xx'] } } } : {};
  const needs = r.role === 'signed-in' ? 'a session' : `the ${r.role} role`;
  return {
    summary: s.summary ?? '',
    'x-pgward-role': r.role,
    'x-pgward-csrf': r.csrf,
    ...(parameters.length ? { parameters } : {}),
    ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } } : {}),
    responses: {
      '200': okResponse,
      '400': { description: 'The request does not match its schema', ...errorContent },
      '401': { description: 'Not signed in', ...errorContent },
      '403': { description: `Needs ${needs}${r.csrf ? ', and the CSRF token' : ''}`, ...errorContent },
      '404': { description: 'No such thing', ...errorContent },
    },
    security: [{ session: [] }],
  };
}

/** The console API as OpenAPI 3.1, built from the routes' own schemas and access config. */
export function openApiDocument(publicUrl: string, routes: readonly DescribedRoute[]): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const r of routes)
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = toDraft2020(operation(r)) as JsonObject;
  return {
    openapi: '3.1.0',
    info: { title: 'pgward console API', version: '1' },
    servers: [{ url: publicUrl }],
    components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'pgward_session' } } },
    paths,
  };
}
