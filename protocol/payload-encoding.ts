/**
 * The payload encodings, in a module of their own: `initialize` names them, and the lifecycle
 * schemas that a start builds should not pull in the rest of common.ts (src/server/lazy-families.ts).
 */
import * as z from 'zod';

export const PayloadEncodingSchema = z.enum(['json', 'text', 'base64', 'file']);
export type PayloadEncoding = z.infer<typeof PayloadEncodingSchema>;
