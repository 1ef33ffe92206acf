/**
 * `holdfast schema`: prints the JSON Schema of holdfast.yaml for editors, e.g.
 * `holdfast schema > holdfast.schema.json` and, in the policy file,
 * `# yaml-language-server: $schema=holdfast.schema.json`.
 */
import type { Command } from 'commander';
import { policyJsonSchema } from '../../policy/json-schema.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the policy file (for editors)')
    .action(() => {
      process.stdout.write(JSON.stringify(policyJsonSchema(), null, 2) + '\n');
    });
}
