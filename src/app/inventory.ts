/** The live columns of the inventory: each asset's newest good backup and newest verification. */
import type { Catalog } from '../catalog/catalog.js';
import type { Policy } from '../policy/types.js';
import type { LiveFacts } from '../report/inventory.js';

export async function liveFacts(policy: Policy, catalog: Catalog): Promise<Map<string, LiveFacts>> {
  const out = new Map<string, LiveFacts>();
  for (const a of Object.values(policy.assets)) {
    if (!a.backup) continue;
    const backup = await catalog.lastSuccessful(a.name, 'backup', a.repository);
    const verified = await catalog.lastVerified(a.name);
    out.set(a.name, { lastBackup: backup?.startedAt, lastVerified: verified?.startedAt });
  }
  return out;
}
