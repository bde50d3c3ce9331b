import { z } from 'zod';
import { PaymentRequirementsSchema } from '../protocol/schemas';

/**
 * The per-origin discovery manifest (specs/extensions/well-known-discovery.md), served at `/.well-known/x402` and
 * `/.well-known/x402.json`: every paid route and tool of the origin with its advisory `accepts` (the live 402 is
 * authoritative), how to call it, and its `bazaar` metadata.
 */

/** Well-known paths of the manifest. */
export const DISCOVERY_PATHS = ['/.well-known/x402', '/.well-known/x402.json'] as const;

/** One paid resource of a manifest. */
export const DiscoveryItemSchema = z.looseObject({
  resource: z.looseObject({
    url: z.string().max(4096),
    description: z.string().max(2048).optional(),
    mimeType: z.string().max(256).optional(),
    serviceName: z.string().max(256).optional(),
    tags: z.array(z.string().max(64)).max(32).optional(),
  }),
  type: z.enum(['http', 'mcp']),
  accepts: z.array(PaymentRequirementsSchema).max(64),
  input: z.looseObject({
    method: z.string().max(16).optional(),
    routeTemplate: z.string().max(2048).optional(),
    toolName: z.string().max(128).optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
  }),
  output: z.record(z.string(), z.unknown()).optional(),
});

/** The manifest. */
export const DiscoveryManifestSchema = z.looseObject({
  x402Version: z.literal(2),
  lastUpdated: z.number().int().nonnegative(),
  items: z.array(DiscoveryItemSchema).max(10_000),
});

export type DiscoveryItem = z.infer<typeof DiscoveryItemSchema>;
export type DiscoveryManifest = z.infer<typeof DiscoveryManifestSchema>;

/**
 * What a route or tool says about itself for discovery (the x402 `bazaar` extension's `info`, and the manifest's
 * `serviceName`, `tags`, `input`, `output`). Schemas are JSON Schema objects.
 *
 * @example { serviceName: 'Weather', tags: ['weather'], input: { queryParams: { city: { type: 'string' } } }, output: { example: { temp: 21 } } }
 */
export type RouteDiscovery = {
  serviceName?: string;
  tags?: string[];
  /** HTTP: query parameters (JSON Schema properties) or a JSON body schema. MCP tools: the tool's input schema. */
  input?: {
    queryParams?: Record<string, unknown>;
    body?: Record<string, unknown>;
    inputSchema?: Record<string, unknown>;
    example?: Record<string, unknown>;
  };
  output?: { example?: unknown; schema?: Record<string, unknown> };
};

/**
 * The `bazaar` extension entry of a route or tool (`{ info, schema }`, as `@x402/extensions/bazaar` declares it):
 * HTTP input with its method (query parameters, or a JSON body), or an MCP tool with its input schema.
 */
export function bazaarExtension(
  target: { type: 'http'; method: string } | { type: 'mcp'; toolName: string; description?: string },
  discovery: RouteDiscovery = {},
): { info: Record<string, unknown>; schema: Record<string, unknown> } {
  const output =
    discovery.output === undefined
      ? undefined
      : { type: 'json', ...(discovery.output.example !== undefined ? { example: discovery.output.example } : {}) };
  const outputSchema =
    discovery.output === undefined
      ? {}
      : {
          output: {
            type: 'object',
            properties: { type: { type: 'string' }, example: discovery.output.schema ?? { type: 'object' } },
            required: ['type'],
          },
        };
  if (target.type === 'mcp') {
    const inputSchema = discovery.input?.inputSchema ?? { type: 'object' };
    return {
      info: {
        input: {
          type: 'mcp',
          toolName: target.toolName,
          ...(target.description ? { description: target.description } : {}),
          inputSchema,
          ...(discovery.input?.example ? { example: discovery.input.example } : {}),
        },
        ...(output ? { output } : {}),
      },
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          input: {
            type: 'object',
            properties: {
              type: { type: 'string', const: 'mcp' },
              toolName: { type: 'string' },
              description: { type: 'string' },
              inputSchema: { type: 'object' },
              example: { type: 'object' },
            },
            required: ['type', 'toolName', 'inputSchema'],
            additionalProperties: false,
          },
          ...outputSchema,
        },
        required: ['input'],
      },
    };
  }
  const body = discovery.input?.body;
  const input = body
    ? { type: 'http', method: target.method, bodyType: 'json', body: discovery.input?.example ?? {} }
    : {
        type: 'http',
        method: target.method,
        ...(discovery.input?.queryParams ? { queryParams: discovery.input.example ?? {} } : {}),
      };
  const inputProperties = body
    ? {
        type: { type: 'string', const: 'http' },
        method: { type: 'string', enum: ['POST', 'PUT', 'PATCH'] },
        bodyType: { type: 'string', enum: ['json', 'form-data', 'text'] },
        body,
      }
    : {
        type: { type: 'string', const: 'http' },
        method: { type: 'string', enum: ['GET', 'HEAD', 'DELETE'] },
        ...(discovery.input?.queryParams
          ? { queryParams: { type: 'object', properties: discovery.input.queryParams } }
          : {}),
      };
  return {
    info: { input, ...(output ? { output } : {}) },
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        input: {
          type: 'object',
          properties: inputProperties,
          required: body ? ['type', 'method', 'bodyType', 'body'] : ['type', 'method'],
          additionalProperties: false,
        },
        ...outputSchema,
      },
      required: ['input'],
    },
  };
}
