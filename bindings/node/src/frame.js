// frame.js: the broker's framing (doc/PROTOCOL.md section 1): a u32
// big-endian length of 1..65536, then that many bytes of one msgpack value.
// A bad length is refused from the header alone, before any body byte is
// kept, so a hostile peer cannot make this side buffer more than one frame.

import { ProtocolError, TooBigError } from './errors.js';

export const MAX_FRAME = 65536;
export const HDR = 4;

/** One frame: header and body, or TooBigError for a body over the limit. */
export function encodeFrame(body) {
  if (body.length === 0 || body.length > MAX_FRAME)
    throw new TooBigError(`request larger than ${MAX_FRAME} bytes`, { code: 'too_big' });
  const out = new Uint8Array(HDR + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, HDR);
  return out;
}

/**
 * Splits a byte stream into frame bodies.  push() returns the bodies
 * completed by a chunk and throws ProtocolError on a length of 0 or over
 * MAX_FRAME; after that the stream cannot be trusted and the reader stays
 * failed.
 */
export class FrameReader {
  constructor(max = MAX_FRAME) {
    this.max = max;
    this.chunks = [];
    this.have = 0;
    this.need = -1;		// body length of the frame being read, -1: header
    this.failed = false;
  }

  /** Bytes held, never more than HDR + max. */
  get buffered() {
    return this.have;
  }

  take(n) {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length)
        this.chunks.shift();
      else
        this.chunks[0] = c.subarray(k);
    }
    this.have -= n;
    return out;
  }

  push(chunk) {
    if (this.failed)
      throw new ProtocolError('broker stream already failed', { code: 'protocol' });
    const frames = [];
    let c = chunk;
    while (c.length > 0) {
      const want = this.need < 0 ? HDR - this.have : this.need - this.have;
      const k = Math.min(want, c.length);
      this.chunks.push(c.subarray(0, k));
      this.have += k;
      c = c.subarray(k);
      if (this.need < 0) {
        if (this.have < HDR)
          continue;
        const h = this.take(HDR);
        const len = new DataView(h.buffer).getUint32(0, false);
        if (len === 0 || len > this.max) {
          this.failed = true;
          this.chunks = [];
          this.have = 0;
          throw new ProtocolError(`broker sent a bad frame length (${len})`, { code: 'protocol' });
        }
        this.need = len;
      } else if (this.have === this.need) {
        frames.push(this.take(this.need));
        this.need = -1;
      }
    }
    return frames;
  }
}
