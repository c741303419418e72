// frame.test.js: the frame decoder alone: lengths checked from the header,
// and a property test: any split of a valid stream gives the same frames,
// and random bytes end in frames or a ProtocolError, never more buffered
// than one frame.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';

import { FrameReader, encodeFrame, MAX_FRAME, ProtocolError, TooBigError } from '../src/index.js';

function hdr(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

test('a zero length is refused from the header', () => {
  const r = new FrameReader();
  assert.throws(() => r.push(hdr(0)), ProtocolError);
  assert.throws(() => r.push(new Uint8Array([1])), ProtocolError, 'stays failed');
});

test('a length over 64 KiB is refused before any body byte is kept', () => {
  const r = new FrameReader();
  assert.deepEqual(r.push(new Uint8Array([0, 1])), []);
  assert.throws(() => r.push(new Uint8Array([0, 1, 0xff, 0xff])), /bad frame length \(65537\)/);
  assert.equal(r.buffered, 0);
  assert.throws(() => new FrameReader().push(hdr(0xffffffff)), ProtocolError);
});

test('a frame of exactly 64 KiB is accepted', () => {
  const r = new FrameReader();
  const body = randomBytes(MAX_FRAME);
  const out = r.push(encodeFrame(body));
  assert.equal(out.length, 1);
  assert.deepEqual(Buffer.from(out[0]), body);
});

test('encodeFrame refuses empty and oversized bodies', () => {
  assert.throws(() => encodeFrame(new Uint8Array(0)), TooBigError);
  assert.throws(() => encodeFrame(new Uint8Array(MAX_FRAME + 1)), TooBigError);
});

test('property: any split of a stream yields the same frames', () => {
  for (let round = 0; round < 300; round++) {
    const bodies = [];
    const parts = [];
    const n = randomInt(1, 8);
    for (let i = 0; i < n; i++) {
      const len = randomInt(0, 5) === 0 ? randomInt(1, MAX_FRAME + 1) : randomInt(1, 300);
      const b = randomBytes(len);
      bodies.push(b);
      parts.push(encodeFrame(b));
    }
    const stream = Buffer.concat(parts);
    const r = new FrameReader();
    const got = [];
    let off = 0;
    while (off < stream.length) {
      const k = Math.min(stream.length - off, randomInt(0, 4) === 0 ? 1 : randomInt(1, 2000));
      got.push(...r.push(stream.subarray(off, off + k)));
      assert.ok(r.buffered <= 4 + MAX_FRAME);
      off += k;
    }
    assert.equal(got.length, bodies.length, `round ${round}`);
    got.forEach((g, i) => assert.deepEqual(Buffer.from(g), bodies[i]));
    assert.equal(r.buffered, 0);
  }
});

test('property: random bytes give frames or a ProtocolError, bounded', () => {
  for (let round = 0; round < 2000; round++) {
    const r = new FrameReader();
    const junk = randomBytes(randomInt(0, 200));
    // small lengths are likelier to pass the header check now and then
    if (round % 3 === 0 && junk.length >= 4)
      junk.writeUInt32BE(randomInt(1, 64), 0);
    try {
      let off = 0;
      while (off < junk.length) {
        const k = randomInt(1, 17);
        for (const f of r.push(junk.subarray(off, off + k)))
          assert.ok(f.length >= 1 && f.length <= MAX_FRAME);
        off += k;
        assert.ok(r.buffered <= 4 + MAX_FRAME);
      }
    } catch (e) {
      assert.ok(e instanceof ProtocolError, `round ${round}: ${e}`);
    }
  }
});
