/**
 * `holdfast daemon [--policy FILE] [--grace SECONDS]`: runs the policy's schedules until
 * stopped. SIGHUP reloads the policy (an invalid one is reported and the old one kept).
 * SIGTERM or SIGINT stops: running jobs get --grace seconds to finish, then are aborted
 * (recorded as aborted, no snapshot written); a second signal aborts at once.
 */
import type { Command } from 'commander';
import { startDaemon } from '../../app/daemon.js';
import { fail } from '../../errors.js';
import type { GlobalOptions } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addPolicyOption, policyFile } from '../policy-option.js';

export function registerDaemon(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('daemon'))
    .description('run every schedule of the policy until stopped (SIGHUP reloads the policy)')
    .option('--grace <seconds>', 'on SIGTERM, time running jobs get to finish before they are aborted', '60')
    .action(async (flags: { policy?: string; grace: string }) => {
      const out = makeOutput(globals());
      const graceMs = Number(flags.grace) * 1000;
      if (!Number.isFinite(graceMs) || graceMs < 0)
        fail('INVALID_ARGUMENT', '--grace must be a number of seconds');
      const log = (line: string) => out.info(`${new Date().toISOString()} ${line}`);
      const daemon = await startDaemon({ policyFile: policyFile(flags.policy), log });
      await new Promise<void>((resolve) => {
        let signals = 0;
        const stop = () => {
          signals++;
          if (signals === 1) {
            const timer = setTimeout(() => void daemon.stop({ abort: true }), graceMs);
            void daemon.stop({ abort: graceMs === 0 }).then(() => {
              clearTimeout(timer);
              resolve();
            });
          } else void daemon.stop({ abort: true });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        process.on('SIGHUP', () => void daemon.reload());
      });
    });
}
