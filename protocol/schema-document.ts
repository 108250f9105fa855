/** Builds the JSON Schema document of the whole protocol from the zod definitions. */
import * as z from 'zod';
import { Notifications, Requests } from './index.js';
import { ErrorDataSchema, ErrorKinds } from './errors.js';
import { PROTOCOL_VERSION } from './lifecycle.js';

function toSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

export function buildSchemaDocument(): Record<string, unknown> {
  const requests: Record<string, unknown> = {};
  for (const def of Object.values(Requests)) {
    requests[def.method] = {
      summary: def.summary,
      params: toSchema(def.params, 'input'),
      result: toSchema(def.result, 'output'),
    };
  }
  const notifications: Record<string, unknown> = {};
  for (const def of Object.values(Notifications)) {
    notifications[def.method] = {
      summary: def.summary,
      direction: def.direction === 'in' ? 'client-to-sidecar' : 'sidecar-to-client',
      params: toSchema(def.params, def.direction === 'in' ? 'input' : 'output'),
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'quantum-butler protocol',
    protocolVersion: PROTOCOL_VERSION,
    requests,
    notifications,
    errors: {
      data: toSchema(ErrorDataSchema, 'output'),
      kinds: Object.fromEntries(Object.entries(ErrorKinds).map(([k, v]) => [k, { code: v.code, retryable: v.retryable }])),
    },
  };
}
