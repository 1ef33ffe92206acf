import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { poly1305, poly1305Js, poly1305Wasm, poly1305WasmLoaded } from './poly1305.js';

const hex = (s: string) => Buffer.from(s.replace(/[: ]/g, ''), 'hex');
const impls = [
  { name: 'javascript', fn: poly1305Js },
  ...(poly1305WasmLoaded ? [{ name: 'webassembly', fn: poly1305Wasm }] : []),
];

test('the WebAssembly kernel is built (npm run build)', { skip: !poly1305WasmLoaded && 'not built' }, () => {
  assert.ok(poly1305WasmLoaded);
});

for (const { name, fn } of impls) {
  test(`${name}: RFC 8439 §2.5.2 test vector`, () => {
    const key = hex(
      '85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8:01:03:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b',
    );
    const tag = fn(Buffer.from('Cryptographic Forum Research Group'), key);
    assert.equal(Buffer.from(tag).toString('hex'), 'a8061dc1305136c6c22b8baf0c0127a9');
  });

  test(`${name}: Poly1305-AES vector (restic's crypto tests, from the Poly1305-AES paper)`, () => {
    const r = hex('851fc40c3467ac0be05cc20404f3f700');
    const k = hex('ec074c835580741701425b623235add6');
    const n = hex('fb447350c4e868c52ac3275cf9d4327e');
    const aes = createCipheriv('aes-128-ecb', k, null);
    aes.setAutoPadding(false);
    const s = aes.update(n);
    assert.equal(s.toString('hex'), '580b3b0f9447bb1e69d095b5928b6dbc');
    const tag = fn(hex('f3f6'), Buffer.concat([r, s]));
    assert.equal(Buffer.from(tag).toString('hex'), 'f4c633c3044fc145f84f335cb81953de');
  });
}

test(
  'the WebAssembly kernel agrees with the JavaScript reference on random inputs',
  {
    skip: !poly1305WasmLoaded && 'kernel not built',
  },
  () => {
    const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 65535, 65536, 65537, 65536 * 2 + 5, 300_001];
    for (let i = 0; i < 400; i++) sizes.push(Math.floor(Math.random() * 200_000));
    for (const size of sizes) {
      const msg = randomBytes(size);
      const key = randomBytes(32);
      if (size % 3 === 0) key.fill(0xff, 0, 16); // extremes of r exercise the carries
      if (size % 5 === 0) msg.fill(0xff);
      assert.deepEqual(
        Buffer.from(poly1305Wasm(msg, key)),
        Buffer.from(poly1305Js(msg, key)),
        `size ${size}`,
      );
    }
    // A subarray of a larger buffer (unaligned offset) is read correctly.
    const big = randomBytes(100_003);
    const key = randomBytes(32);
    const view = big.subarray(7, 90_000);
    assert.deepEqual(Buffer.from(poly1305(view, key)), Buffer.from(poly1305Js(view, key)));
  },
);
