/**
 * A policy for tests: holdfast.yaml in a temporary directory with two keys (password files),
 * a primary and a replica repository, a files asset copied to the replica, and whatever
 * assets the test adds. Repositories are created with `holdfast setup`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PRIMARY_PW = 'primary password';
export const REPLICA_PW = 'replica password';

export interface TestPolicy {
  dir: string;
  file: string;
  primary: string;
  replica: string;
  catalog: string;
}

/** Writes holdfast.yaml with the base assets and `extraAssets` (YAML text, indented 2). */
export function writeTestPolicy(
  dir: string,
  extraAssets = '',
  opts: { docsSchedule?: string } = {},
): TestPolicy {
  fs.mkdirSync(path.join(dir, 'data', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'document a\n');
  fs.writeFileSync(path.join(dir, 'data', 'sub', 'b.txt'), 'document b\n');
  fs.writeFileSync(path.join(dir, 'primary.pw'), PRIMARY_PW);
  fs.writeFileSync(path.join(dir, 'replica.pw'), REPLICA_PW);
  const file = path.join(dir, 'holdfast.yaml');
  fs.writeFileSync(
    file,
    `catalog: sqlite:state/catalog.db
keys:
  primary: { passwordFile: primary.pw }
  replica: { passwordFile: replica.pw }
repositories:
  primary: { url: repo-primary, key: primary, location: test }
  replica: { url: repo-replica, key: replica, location: test second site }
assets:
  docs:
    data: Test documents
    storage: Files
    category: test
    source: { type: files, paths: [data] }
    schedule: "${opts.docsSchedule ?? '0 3,15 * * *'}"
    rpo: 12h
    retention: { within: 60d }
    repository: primary
    copies: [replica]
  scratch:
    data: Scratch space
    category: test
    backup: none
    notes: Can be recreated
${extraAssets}`,
  );
  return {
    dir,
    file,
    primary: path.join(dir, 'repo-primary'),
    replica: path.join(dir, 'repo-replica'),
    catalog: `sqlite:${path.join(dir, 'state', 'catalog.db')}`,
  };
}
