/**
 * The JSON Schema of holdfast.yaml, generated from the zod schema, for editors (e.g. the
 * YAML language server: `# yaml-language-server: $schema=holdfast.schema.json`).
 * Cross-reference rules (names that must exist, retention against immutability) are
 * only checked by `holdfast validate`.
 */
import { z } from 'zod';
import { policySchema } from './schema.js';

export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: 'holdfast policy file (holdfast.yaml)' };
}
