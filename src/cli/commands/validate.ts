/**
 * `holdfast validate [--policy FILE]`: checks the policy file without running anything.
 * Valid: prints "FILE: valid (N assets, M repositories)" and exits 0. Invalid: prints one
 * line per problem (FILE:LINE:COL: what is wrong — what to change) on stderr and exits 1,
 * the general error code (2 is left to commander's usage errors). A missing file is an
 * error like any other (exit 1). --json prints { valid, file, problems | counts }.
 */
import type { Command } from 'commander';
import { loadPolicy } from '../../policy/load.js';
import { PolicyError } from '../../policy/problems.js';
import type { GlobalOptions } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addPolicyOption, policyFile } from '../policy-option.js';

export function registerValidate(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('validate'))
    .description('check the policy file (holdfast.yaml) and say what to change')
    .action(async (flags: { policy?: string }) => {
      const out = makeOutput(globals());
      const file = policyFile(flags.policy);
      try {
        const policy = await loadPolicy(file);
        const assets = Object.keys(policy.assets).length;
        const repositories = Object.keys(policy.repositories).length;
        out.emit({ valid: true, file, assets, repositories });
        out.info(
          `${file}: valid (${assets} asset${assets === 1 ? '' : 's'}, ${repositories} repositor${repositories === 1 ? 'y' : 'ies'})`,
        );
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        out.emit({ valid: false, file, problems: err.problems });
        if (!out.json) {
          for (const p of err.problems) out.warn(`${p.file}:${p.line}:${p.column}: ${p.message}`);
          const n = err.problems.length;
          out.warn(`${file}: invalid (${n} problem${n === 1 ? '' : 's'})`);
        }
        process.exitCode = 1;
      }
    });
}
