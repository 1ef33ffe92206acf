/**
 * The `holdfast` binary as the system runs it: through its own `#!/usr/bin/env -S … node …`
 * line, whose V8 options (the heap settings that bound peak memory) must be ones this
 * Node.js accepts, since a bad option would stop every command before it starts, and whose
 * environment settings (glibc's, read only at start) must reach the process as it starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOLDFAST_BIN, HOLDFAST_NODE_ENV, HOLDFAST_NODE_OPTIONS } from '../testing/cli.js';

/** A script that keeps objects alive for a while and prints the largest young generation seen. */
const YOUNG_GENERATION_PEAK = `
const v8 = require('v8');
let keep = [];
let peak = 0;
for (let i = 0; i < 3e6; i++) {
  keep.push({ i });
  if (keep.length > 200000) keep = [];
  if (i % 10000 === 0)
    peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
}
process.stdout.write(String(peak));
`;

test('the binary runs through its #! line, with the heap options it names', () => {
  assert.ok(HOLDFAST_NODE_OPTIONS.some((o) => o.startsWith('--max-semi-space-size=')));
  assert.deepEqual(HOLDFAST_NODE_ENV, { MALLOC_ARENA_MAX: '2' });
  const pkg = JSON.parse(
    fs.readFileSync(path.join(path.dirname(HOLDFAST_BIN), '..', 'package.json'), 'utf8'),
  );
  // This Node.js first on PATH, as `npm install` leaves it for the installed binary.
  const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  const r = spawnSync(HOLDFAST_BIN, ['--version'], { env: { ...process.env, PATH }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  // The #! line's own words, with a script in place of the binary: the settings are in the
  // environment the process starts with, where glibc reads them.
  const line = fs.readFileSync(HOLDFAST_BIN, 'utf8').split('\n')[0];
  const [envBin, words] = /^#!(\S+) (-S .*)$/.exec(line)!.slice(1);
  const seen = spawnSync(envBin, [`${words} -p process.env.MALLOC_ARENA_MAX`], {
    env: { ...process.env, PATH, MALLOC_ARENA_MAX: '8' },
    encoding: 'utf8',
  });
  assert.equal(seen.status, 0, seen.stderr);
  assert.equal(seen.stdout.trim(), '2');
  // The same options given to Node.js itself are accepted and bound the young generation,
  // which objects that survive a while would grow to 2 × 16 MiB without them.
  const probe = spawnSync(process.execPath, [...HOLDFAST_NODE_OPTIONS, '-e', YOUNG_GENERATION_PEAK], {
    encoding: 'utf8',
  });
  assert.equal(probe.status, 0, probe.stderr);
  assert.ok(Number(probe.stdout) <= 4 * 1024 * 1024, `young generation grew to ${probe.stdout.trim()} bytes`);
});
