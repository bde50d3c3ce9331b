import type { z } from 'zod';

/**
 * Parses JSON text with a schema; undefined when the text is not JSON or does not match (for records this
 * library wrote itself and reads back, where "not ours" is an answer rather than an error).
 *
 * @example const intent = parseJsonAs(IntentSchema, record.intent);
 */
export function parseJsonAs<S extends z.ZodType>(schema: S, text: string): z.output<S> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
