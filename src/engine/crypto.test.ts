import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveKey, isValidKey, newMasterKey, open, seal, SEAL_OVERHEAD } from './crypto.js';
import { isHoldfastError } from '../errors.js';

test('seal then open returns the plaintext, with 32 bytes of overhead', () => {
  const key = newMasterKey();
  for (const size of [0, 1, 15, 16, 17, 1000, 100_000]) {
    const plain = Buffer.alloc(size, 7);
    const sealed = seal(key, plain);
    assert.equal(sealed.length, size + SEAL_OVERHEAD);
    assert.deepEqual(open(key, sealed), plain);
  }
});

test('sealing the same plaintext twice gives different ciphertexts (fresh IVs)', () => {
  const key = newMasterKey();
  assert.notDeepEqual(seal(key, Buffer.from('same')), seal(key, Buffer.from('same')));
});

test('a flipped bit anywhere in a sealed box is detected before decryption', () => {
  const key = newMasterKey();
  const sealed = seal(key, Buffer.from('attack at dawn, bring snacks'));
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 0x10;
    assert.throws(
      () => open(key, bad),
      (e) => isHoldfastError(e, 'INTEGRITY'),
    );
  }
});

test('a box sealed with another key does not open', () => {
  const sealed = seal(newMasterKey(), Buffer.from('x'));
  assert.throws(() => open(newMasterKey(), sealed), /ciphertext verification failed/);
});

test('new master keys are valid and have a clamped r', () => {
  const key = newMasterKey();
  assert.ok(isValidKey(key));
  assert.equal(key.macR[3] & 0xf0, 0);
  assert.equal(key.macR[4] & 0x03, 0);
});

test('scrypt derivation is deterministic for the same salt and parameters', async () => {
  const salt = Buffer.alloc(64, 1);
  const a = await deriveKey(Buffer.from('pw'), salt, { N: 1024, r: 8, p: 1 });
  const b = await deriveKey(Buffer.from('pw'), salt, { N: 1024, r: 8, p: 1 });
  const c = await deriveKey(Buffer.from('pw2'), salt, { N: 1024, r: 8, p: 1 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.encrypt, c.encrypt);
});
