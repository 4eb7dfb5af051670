import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastifySchema } from '../../src/web/api-route.js';
import { openApiDocument, openApiPath, toDraft2020 } from '../../src/web/openapi.js';

describe('OpenAPI from the console routes', () => {
  const schema = fastifySchema({
    summary: 'Revoke a token',
    params: z.object({ jti: z.uuid() }),
    querystring: z.object({ why: z.string().optional() }),
    body: z.object({ endSessions: z.boolean().default(false) }),
    response: z.object({ revoked: z.boolean(), at: z.date().nullable() }),
  });
  const doc = openApiDocument('https://console.example', [
    { method: 'POST', url: '/api/tokens/:jti/revoke', role: 'admin', csrf: true, schema },
  ]);
  const op = (doc['paths'] as Record<string, Record<string, Record<string, unknown>>>)['/api/tokens/{jti}/revoke']![
    'post'
  ]!;

  it('takes path and query parameters, the CSRF header, the body and the answer from the route schema', () => {
    expect(op['summary']).toBe('Revoke a token');
    expect(op['x-pgward-role']).toBe('admin');
    expect(op['x-pgward-csrf']).toBe(true);
    expect(
      (op['parameters'] as Array<{ name: string; in: string; required: boolean }>).map((p) => [
        p.name,
        p.in,
        p.required,
      ]),
    ).toEqual([
      ['jti', 'path', true],
      ['why', 'query', false],
      ['x-csrf-token', 'header', true],
    ]);
    expect(op['requestBody']).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: { type: 'object', properties: { endSessions: { type: 'boolean', default: false } } },
        },
      },
    });
    const responses = op['responses'] as Record<
      string,
      { description: string; content?: Record<string, { schema: unknown }> }
    >;
    expect(responses['200']!.content!['application/json']!.schema).toEqual({
      type: 'object',
      properties: {
        revoked: { type: 'boolean' },
        at: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
      },
      required: ['revoked', 'at'],
      additionalProperties: false,
    });
    expect(responses['403']!.description).toBe('Needs the admin role, and the CSRF token');
    expect(responses['401']!.content!['application/json']!.schema).toMatchObject({
      properties: { error: { type: 'string' } },
    });
  });

  it('writes fastify paths as OpenAPI paths and draft 7 tuples as 2020-12 ones', () => {
    expect(openApiPath('/api/audit/exports/:id/:part')).toBe('/api/audit/exports/{id}/{part}');
    expect(
      toDraft2020({
        type: 'array',
        items: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], additionalItems: false },
      }),
    ).toEqual({
      type: 'array',
      items: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
    });
    expect(toDraft2020({ type: 'array', items: { type: 'string' } })).toEqual({
      type: 'array',
      items: { type: 'string' },
    });
  });
});
