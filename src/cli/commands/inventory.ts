/**
 * `holdfast inventory [--policy FILE] [--format markdown|csv|json] [--no-live]`: the data
 * inventory generated from the policy, with the live columns Last Backup and Last Verified
 * from the catalog unless --no-live.
 */
import type { Command } from 'commander';
import { liveFacts } from '../../app/inventory.js';
import { openCatalog } from '../../catalog/catalog.js';
import { catalogUrl } from '../../app/policy-context.js';
import { fail } from '../../errors.js';
import { loadPolicy } from '../../policy/load.js';
import { inventoryCsv, inventoryJson, inventoryMarkdown, inventoryRows } from '../../report/inventory.js';
import type { GlobalOptions } from '../global-options.js';
import { addPolicyOption, policyFile } from '../policy-option.js';

const RENDER = { markdown: inventoryMarkdown, csv: inventoryCsv, json: inventoryJson };

export function registerInventory(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('inventory'))
    .description('print the data inventory (every asset, including those not backed up)')
    .option('--format <format>', 'markdown, csv or json', 'markdown')
    .option('--no-live', 'leave out the Last Backup and Last Verified columns (no catalog needed)')
    .action(async (flags: { policy?: string; format: string; live: boolean }) => {
      const format = globals().json ? 'json' : flags.format;
      if (!(format in RENDER)) fail('INVALID_ARGUMENT', `--format "${format}": use markdown, csv or json`);
      const policy = await loadPolicy(policyFile(flags.policy));
      let live;
      if (flags.live) {
        const catalog = await openCatalog(catalogUrl(policy));
        try {
          live = await liveFacts(policy, catalog);
        } finally {
          await catalog.close();
        }
      }
      process.stdout.write(RENDER[format as keyof typeof RENDER](inventoryRows(policy, live)));
    });
}
