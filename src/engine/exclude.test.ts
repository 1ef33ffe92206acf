import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excludeMatcher } from './exclude.js';

test('a pattern without a slash matches a name at any depth', () => {
  const m = excludeMatcher(['*.log']);
  assert.ok(m.matches('/var/app/x.log'));
  assert.ok(m.matches('/x.log'));
  assert.ok(!m.matches('/var/app/x.log.gz'));
});

test('an absolute pattern is anchored at the root and excludes what is below a matched dir', () => {
  const m = excludeMatcher(['/home/*/cache']);
  assert.ok(m.matches('/home/ann/cache'));
  assert.ok(m.matches('/home/ann/cache/big/file'));
  assert.ok(!m.matches('/srv/home/ann/cache'));
});

test('** spans any number of directories and ? [] match one character', () => {
  const m = excludeMatcher(['/data/**/tmp', 'file?.[ch]']);
  assert.ok(m.matches('/data/tmp'));
  assert.ok(m.matches('/data/a/b/c/tmp/x'));
  assert.ok(m.matches('/src/file1.c'));
  assert.ok(!m.matches('/src/file10.c'));
  assert.ok(!m.matches('/src/file1.o'));
});

test('relative patterns with a slash match a trailing run of components', () => {
  const m = excludeMatcher(['node_modules/.cache']);
  assert.ok(m.matches('/p/node_modules/.cache/x'));
  assert.ok(!m.matches('/p/node_modules/other'));
});

test('no patterns exclude nothing; comments and blanks are ignored', () => {
  assert.ok(!excludeMatcher([]).matches('/a'));
  assert.ok(!excludeMatcher(['# comment', '  ']).matches('/a'));
});
