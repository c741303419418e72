// client.js: a broker client speaking doc/PROTOCOL.md over the Unix socket:
// hello on every new connection, requests pipelined and matched by id, a
// deadline on every call, and libclient/conn.c's retry rule: a request is
// sent again on a new connection only when the broker cannot have acted
// on it (it never got all of it, or it said it is shutting down) or when
// acting twice does no harm (hello, revoke, inspect, pubkeys, status).  A
// mint or a verify whose answer was lost is never repeated: the first may
// have issued a token or spent a single-use one.

import net from 'node:net';
import { randomInt } from 'node:crypto';
import { encode, decode } from '@msgpack/msgpack';

import {
  BatonError, ProtocolError, TimeoutError, UnavailableError, VersionError,
  TooBigError, wireError,
} from './errors.js';
import { FrameReader, encodeFrame, MAX_FRAME } from './frame.js';

export const PROTOCOL_VERSION = 1;
export const DEFAULT_SOCKET = '/run/baton/batond.sock';
export const DEFAULT_TIMEOUT_MS = 5000;	// BC_DEFAULT_TIMEOUT_MS

export const OPS = Object.freeze({
  hello: 1, mint: 2, attenuate: 3, present: 4, verify: 5, revoke: 6,
  inspect: 7, pubkeys: 8, status: 9, rotate: 10, reload: 11,
});

const IDEMPOTENT = new Set([OPS.hello, OPS.revoke, OPS.inspect, OPS.pubkeys,
  OPS.status, OPS.reload]);
const STATUS_SHUTDOWN = 10;

/** The socket path: the option, else BATON_SOCKET, else the default. */
export function socketPath(opt) {
  if (typeof opt === 'string' && opt !== '')
    return opt;
  const env = process.env.BATON_SOCKET;
  return env ? env : DEFAULT_SOCKET;
}

// Answers carry jtis and kids as bin; give them as lower-case hex strings,
// as the C client and the CLI's --json do.
function binToHex(v) {
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v))
    return v.map(binToHex);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v))
      o[k] = binToHex(x);
    return o;
  }
  return v;
}

function hexToBin(s, len, what) {
  if (s instanceof Uint8Array && s.length === len)
    return s;
  if (typeof s !== 'string' || !new RegExp(`^[0-9a-fA-F]{${len * 2}}$`).test(s))
    throw new TypeError(`${what}: want ${len * 2} hex digits`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

// Drop undefined fields so absent means absent on the wire.
function compact(o) {
  const out = {};
  for (const [k, v] of Object.entries(o ?? {}))
    if (v !== undefined)
      out[k] = v;
  return out;
}

/**
 * Grants as on the wire, or in short form: "*", or a list of "tool" and
 * "tool:action" strings ("db:read", "db:write" -> {db: {actions: [...]}}).
 */
export function toGrants(g) {
  if (!Array.isArray(g))
    return g;
  const out = {};
  for (const s of g) {
    if (typeof s !== 'string' || s === '')
      throw new TypeError('grants: want "tool" or "tool:action" strings');
    const i = s.indexOf(':');
    const tool = i < 0 ? s : s.slice(0, i);
    out[tool] ??= {};
    if (i >= 0)
      (out[tool].actions ??= []).push(s.slice(i + 1));
  }
  return out;
}

function issueBody(o) {
  const b = compact(o);
  if (b.grants !== undefined)
    b.grants = toGrants(b.grants);
  if (typeof b.aud === 'string')
    b.aud = [b.aud];
  return b;
}

class Connection {
  constructor(client) {
    this.client = client;
    this.sock = null;
    this.reader = new FrameReader();
    this.pending = new Map();	// id -> request
    this.dead = false;
    this.ready = null;		// promise of the hello
    this.hello = null;
  }

  open(deadline) {
    return new Promise((resolve, reject) => {
      const left = deadline - Date.now();
      if (left <= 0) {
        reject(this.client.timeoutError());
        return;
      }
      const sock = net.createConnection({ path: this.client.path });
      this.sock = sock;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new TimeoutError(`timed out connecting to the broker at ${this.client.path}`,
          { code: 'timeout', retry: 'later' }));
      }, left);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeListener('error', onerr);
        sock.on('error', () => {});	// 'close' follows and does the work
        resolve();
      });
      const onerr = (e) => {
        clearTimeout(timer);
        this.dead = true;
        reject(new UnavailableError(`cannot connect to the broker at ${this.client.path}: ${e.message}; ` +
          'is batond running (or set BATON_SOCKET)?', { code: 'unavailable', retry: 'later' }));
      };
      sock.once('error', onerr);
      // closed before it connected (client.close()): no 'error' comes
      sock.once('close', () => {
        clearTimeout(timer);
        reject(new UnavailableError('client closed', { code: 'unavailable' }));
      });
      sock.on('data', (chunk) => this.onData(chunk));
      sock.on('close', () => this.onClose());
    });
  }

  onData(chunk) {
    let frames;
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const f of frames) {
      if (this.dead)
        return;
      this.onFrame(f);
    }
  }

  onFrame(f) {
    let msg;
    try {
      msg = decode(f);	// throws on trailing bytes, bad types, __proto__ keys
    } catch (e) {
      this.fail(new ProtocolError(`broker sent a malformed response: ${e.message}`, { code: 'protocol' }));
      return;
    }
    if (!Array.isArray(msg) || msg.length !== 4 || !Number.isInteger(msg[0]) ||
        (msg[0] & 0x80) === 0 || msg[0] > 0xff || !Number.isInteger(msg[1]) || msg[1] < 0 ||
        msg[1] > 0xffffffff || !Number.isInteger(msg[2]) || msg[2] < 0 ||
        msg[3] === null || typeof msg[3] !== 'object' || Array.isArray(msg[3]) ||
        msg[3] instanceof Uint8Array) {
      this.fail(new ProtocolError('broker sent a malformed response', { code: 'protocol' }));
      return;
    }
    const [rop, id, status, body] = msg;
    let req = this.pending.get(id);
    if (req === undefined && id === 0 && status !== 0) {
      /*
       * Id 0 with an error: the broker refusing a frame it could not read
       * (PROTOCOL.md section 2), then closing.  It is the answer to every
       * request in flight: none can be told apart from the culprit.
       */
      const err = wireError(status, body);
      for (const r of this.pending.values())
        r.settle(err);
      this.pending.clear();
      return;
    }
    if (req === undefined)
      return;	// an answer to an abandoned (timed-out) request: skip it
    this.pending.delete(id);
    this.idle();
    if ((rop & 0x7f) !== req.op) {
      req.settle(new ProtocolError('broker answered the wrong operation', { code: 'protocol' }));
      this.fail(new ProtocolError('broker answered the wrong operation', { code: 'protocol' }));
      return;
    }
    if (status === STATUS_SHUTDOWN) {
      req.broken(wireError(status, body), true);
      return;
    }
    req.settle(status === 0 ? null : wireError(status, body), binToHex(body));
  }

  fail(err) {
    if (this.dead)
      return;
    this.dead = true;
    this.sock?.destroy();
    for (const r of this.pending.values())
      r.settle(err);
    this.pending.clear();
  }

  onClose() {
    this.dead = true;
    for (const r of this.pending.values())
      r.broken(null, false);
    this.pending.clear();
  }

  // An idle connection does not keep the process alive; one in use does.
  idle() {
    if (this.pending.size === 0)
      this.sock?.unref();
  }

  send(req) {
    this.pending.set(req.id, req);
    this.sock.ref();
    req.written = false;
    this.sock.write(req.frame, (e) => {
      if (!e)
        req.written = true;
    });
  }
}

/**
 * A broker client.  Options: socket (path), timeoutMs (per call, default
 * 5000, connecting included), clientName (sent in hello).
 */
export class BatonClient {
  constructor(opts = {}) {
    this.path = socketPath(opts.socket);
    if (opts.timeoutMs !== undefined && !(Number.isInteger(opts.timeoutMs) && opts.timeoutMs > 0))
      throw new TypeError('timeoutMs: want a positive integer');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clientName = opts.clientName ?? 'baton-node';
    this.conn = null;
    this.nextId = randomInt(1, 0xffffffff);
    this.closed = false;
  }

  timeoutError() {
    return new TimeoutError(`the broker did not answer within ${this.timeoutMs} ms`,
      { code: 'timeout', retry: 'later' });
  }

  takeId() {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;	// 0 is the broker's
    return id;
  }

  // A connection that has said hello, opening one if need be.
  async connection(deadline) {
    if (this.closed)
      throw new UnavailableError('client closed', { code: 'unavailable' });
    if (this.conn !== null && !this.conn.dead)
      return this.conn.ready;
    const c = new Connection(this);
    this.conn = c;
    c.ready = (async () => {
      await c.open(deadline);
      const h = await this.roundTrip(c, OPS.hello,
        { version: PROTOCOL_VERSION, client: this.clientName }, deadline);
      if (h.version !== PROTOCOL_VERSION) {
        c.fail(new ProtocolError('hello', { code: 'protocol' }));
        throw new VersionError(`broker speaks protocol version ${h.version}, not ${PROTOCOL_VERSION}`,
          { code: 'version' });
      }
      c.hello = h;
      return c;
    })();
    c.ready.catch(() => c.fail(new UnavailableError('hello failed', { code: 'unavailable' })));
    return c.ready;
  }

  // One request on connection c; rejects with { broken, sent } on a lost stream.
  roundTrip(c, op, body, deadline) {
    const id = this.takeId();
    let payload;
    try {
      payload = encode([op, id, body]);
    } catch (e) {
      return Promise.reject(new TypeError(`request body cannot be encoded: ${e.message}`));
    }
    if (payload.length > MAX_FRAME)
      return Promise.reject(new TooBigError(`request larger than ${MAX_FRAME} bytes`, { code: 'too_big' }));
    return new Promise((resolve, reject) => {
      const left = deadline - Date.now();
      const req = {
        id, op, frame: encodeFrame(payload), written: false,
        timer: null,
        settle: (err, val) => {
          clearTimeout(req.timer);
          if (err) reject(err); else resolve(val);
        },
        broken: (err, notActed) => {
          clearTimeout(req.timer);
          const e = new Error('broken');
          e.broken = true;
          e.notActed = notActed || !req.written;
          e.cause = err;
          reject(e);
        },
      };
      if (left <= 0) {
        reject(this.timeoutError());
        return;
      }
      req.timer = setTimeout(() => {
        // the stream stays in step: a late answer is matched by id and skipped
        c.pending.delete(id);
        c.idle();
        reject(this.timeoutError());
      }, left);
      if (c.dead) {
        req.broken(null, true);
        return;
      }
      c.send(req);
    });
  }

  /** Send op with body; the answer body, or a BatonError. */
  async call(op, body = {}) {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      let c;
      try {
        c = await this.connection(deadline);
      } catch (e) {
        throw this.plain(e);
      }
      try {
        return await this.roundTrip(c, op, body, deadline);
      } catch (e) {
        if (!e.broken)
          throw e;
        if (c === this.conn)
          this.conn = null;
        const retry = e.notActed || IDEMPOTENT.has(op);
        if (retry && attempt === 0)
          continue;
        if (e.cause instanceof BatonError && !retry)
          throw e.cause;
        throw new UnavailableError(retry
          ? `the broker at ${this.path} closed the connection; is batond running?`
          : `the broker at ${this.path} closed the connection after receiving the request, ` +
            'which may have been carried out; not repeated', { code: 'unavailable', retry: 'later' });
      }
    }
  }

  plain(e) {
    if (e.broken)
      return new UnavailableError(`the broker at ${this.path} closed the connection`,
        { code: 'unavailable', retry: 'later' });
    return e;
  }

  /** What the broker said in hello on the current connection. */
  async hello() {
    const c = await this.connection(Date.now() + this.timeoutMs);
    return c.hello;
  }

  async mint(o) {
    return this.call(OPS.mint, issueBody(o));
  }

  async attenuate(token, o = {}) {
    return this.call(OPS.attenuate, issueBody({ ...o, token }));
  }

  async present(token, o) {
    return this.call(OPS.present, compact({ ...o, token }));
  }

  /**
   * Ask whether token allows a call: o = {tool, action?, aud?, args?,
   * usage?}.  A denial is an answer ({allow: false, reason_name}), not an
   * error; errors mean the question could not be asked.
   */
  async verify(token, o) {
    return this.call(OPS.verify, compact({ ...o, token }));
  }

  /** Revoke by token ({token, block?}) or, as admin, by jti ({jti: hex}). */
  async revoke(o) {
    const b = compact(typeof o === 'string' ? { token: o } : o);
    if (b.jti !== undefined)
      b.jti = hexToBin(b.jti, 16, 'jti');
    return this.call(OPS.revoke, b);
  }

  async inspect(token) {
    return this.call(OPS.inspect, { token });
  }

  async pubkeys() {
    return this.call(OPS.pubkeys, {});
  }

  async status(o = {}) {
    return this.call(OPS.status, compact(o));
  }

  /** Close the connection; pending calls fail, later calls are refused. */
  close() {
    this.closed = true;
    this.conn?.fail(new UnavailableError('client closed', { code: 'unavailable' }));
    this.conn = null;
  }
}
