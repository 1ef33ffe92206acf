/** `holdfast setup [--policy FILE]`: create the repositories the policy names that do not exist. */
import type { Command } from 'commander';
import { setupRepositories } from '../../app/setup.js';
import { loadPolicy } from '../../policy/load.js';
import type { GlobalOptions } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addPolicyOption, policyFile } from '../policy-option.js';

export function registerSetup(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('setup'))
    .description('create every repository of the policy that does not exist yet')
    .action(async (flags: { policy?: string }) => {
      const out = makeOutput(globals());
      const policy = await loadPolicy(policyFile(flags.policy));
      const results = await setupRepositories(policy, process.env);
      out.emit({ message_type: 'setup', repositories: results });
      for (const r of results) {
        const how = r.chunkerFrom ? ` (chunker parameters of ${r.chunkerFrom}, so copies deduplicate)` : '';
        out.info(`${r.repository}: ${r.created ? `created${how}` : 'exists'}`);
      }
    });
}
