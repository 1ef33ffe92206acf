/**
 * `holdfast validate` and `holdfast schema` as a user runs them: a valid policy prints a
 * one-line summary and exits 0; an invalid one prints FILE:LINE:COL lines on stderr and
 * exits 1; the policy is found by --policy, $HOLDFAST_POLICY or ./holdfast.yaml.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdfast, cleanEnv } from '../testing/cli.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const VALID = `keys:
  main: { password: "\${SECRET_PW}" }
repositories:
  primary: { url: repo, key: main }
assets:
  db:
    data: Database
    source: { type: command, command: "echo hi" }
    schedule: "0 3 * * *"
    retention: { within: 30d }
    repository: primary
  cache: { data: Cache, backup: none, notes: Rebuilt on start }
`;

const INVALID = `keys:
  main: { passwordFile: pw }
repositories:
  primary: { url: repo, key: main }
assets:
  db:
    data: Database
    source: { type: files, paths: [/srv] }
    schedule: "0 3 * * *"
    retention: { within: 30d }
    repository: primary
    copies: [offsite]
    schedul: daily
`;

describe('holdfast validate', () => {
  let tmp: string;
  before(() => {
    tmp = makeTempDir('validate');
  });
  after(() => removeDir(tmp));

  test('a valid policy in the working directory: summary line, exit 0', () => {
    const dir = path.join(tmp, 'valid');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'holdfast.yaml'), VALID);
    const r = holdfast(['validate'], { cwd: dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'holdfast.yaml: valid (2 assets, 1 repository)\n');
    assert.equal(r.stderr, '');
  });

  test('the example policy is valid', () => {
    const r = holdfast(['validate', '--policy', 'examples/holdfast.yaml'], { cwd: ROOT, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^examples\/holdfast\.yaml: valid \(3 assets, 2 repositories\)\n$/);
  });

  test('an invalid policy: one line per problem with line and column, exit 1', () => {
    const file = path.join(tmp, 'invalid.yaml');
    fs.writeFileSync(file, INVALID);
    const r = holdfast(['validate', '--policy', file], { env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.equal(r.stdout.toString(), '');
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      `${file}:13:5: assets.db: unknown key "schedul" — did you mean "schedule"?`,
      `${file}: invalid (1 problem)`,
    ]);
  });

  test('cross-reference problems are reported once the schema passes', () => {
    const file = path.join(tmp, 'refs.yaml');
    fs.writeFileSync(file, INVALID.replace('    schedul: daily\n', ''));
    const r = holdfast(['validate', '--policy', file], { env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /refs\.yaml:12:14: assets\.db\.copies\[0\]: there is no repository named "offsite" — name one of the repositories: primary\n/,
    );
  });

  test('HOLDFAST_POLICY names the file; --json reports problems as data', () => {
    const file = path.join(tmp, 'env.yaml');
    fs.writeFileSync(file, INVALID);
    const r = holdfast(['--json', 'validate'], { cwd: tmp, env: cleanEnv({ HOLDFAST_POLICY: 'env.yaml' }) });
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout.toString()) as {
      valid: boolean;
      problems: { line: number; column: number; message: string }[];
    };
    assert.equal(doc.valid, false);
    assert.deepEqual(
      doc.problems.map((p) => [p.line, p.column]),
      [[13, 5]],
    );
  });

  test('a missing policy file says how to start, exit 1', () => {
    const r = holdfast(['validate'], { cwd: tmp, env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^holdfast: no policy file at holdfast\.yaml — create one/);
  });

  test('a secret reference is not resolved (or needed) to validate', () => {
    const dir = path.join(tmp, 'secret');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'holdfast.yaml'), VALID);
    const r = holdfast(['validate'], { cwd: dir, env: cleanEnv({ SECRET_PW: 'do-not-print' }) });
    assert.equal(r.code, 0);
    assert.ok(!r.stdout.toString().includes('do-not-print') && !r.stderr.includes('do-not-print'));
  });
});

describe('holdfast schema', () => {
  test('prints the JSON Schema of the policy file', () => {
    const r = holdfast(['schema'], { env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout.toString()) as { properties: Record<string, unknown> };
    for (const k of ['keys', 'repositories', 'assets', 'catalog', 'concurrency'])
      assert.ok(k in schema.properties, k);
  });
});
