/**
 * The `--policy <file>` option of the commands that read holdfast.yaml, and where the file
 * is when the option is not given: $HOLDFAST_POLICY, else ./holdfast.yaml.
 */
import type { Command } from 'commander';

export const DEFAULT_POLICY_FILE = 'holdfast.yaml';

export function addPolicyOption(cmd: Command): Command {
  return cmd.option('--policy <file>', `policy file (env HOLDFAST_POLICY; default ./${DEFAULT_POLICY_FILE})`);
}

export function policyFile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.HOLDFAST_POLICY || DEFAULT_POLICY_FILE;
}
