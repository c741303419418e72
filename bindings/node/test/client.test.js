// client.test.js: every operation against a real batond, the error
// classes each wire error maps to, and the retry rules of libclient/conn.c.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  BatonClient, BadRequestError, DeniedError, UnavailableError, TooBigError,
  REASONS, socketPath, DEFAULT_SOCKET, toGrants,
} from '../src/index.js';
import { startBroker } from './broker.js';

let b, c;
before(async () => {
  b = await startBroker();
  c = b.client();
});
after(async () => {
  c?.close();
  await b?.cleanup();
});

test('hello negotiates version 1 and says who we are', async () => {
  const h = await c.hello();
  assert.equal(h.version, 1);
  assert.equal(h.max_frame, 65536);
  assert.equal(h.uid, process.getuid());
  assert.equal(h.dev_mode, true);
});

test('mint, attenuate, present, verify: the MCPVault chain', async () => {
  const root = await c.mint({ as: 'orchestrator', grants: { db_query: { limits: { max_rows: 1000 } }, file_read: {} },
    ttl: 3600, max_depth: 5, aud: ['db'] });
  assert.match(root.token, /^bt1_/);
  assert.match(root.jti, /^[0-9a-f]{32}$/);
  const a = await c.attenuate(root.token, { as: 'worker-a', grants: { db_query: { limits: { max_rows: 100 } } }, ttl: 1800 });
  const bb = await c.attenuate(a.token, { as: 'worker-b', grants: ['db_query'], ttl: 900 });
  const p = await c.present(bb.token, { as: 'worker-b', tool: 'db_query', action: 'read', aud: 'db' });
  const v = await c.verify(p.token, { tool: 'db_query', action: 'read', aud: 'db', usage: { max_rows: 100 } });
  assert.equal(v.allow, true);
  assert.equal(v.facts.depth, 3);
  assert.equal(v.facts.limits.max_rows, 100);
  assert.deepEqual(v.facts.delegators, ['orchestrator', 'worker-a', 'worker-b', 'worker-b']);
  const again = await c.verify(p.token, { tool: 'db_query', action: 'read', aud: 'db' });
  assert.equal(again.allow, false);
  assert.equal(again.reason_name, 'replayed');
  const wrongTool = await c.verify(bb.token, { tool: 'file_read', aud: 'db' });
  assert.equal(wrongTool.reason_name, 'tool_not_granted');
  await assert.rejects(c.attenuate(bb.token, { as: 'worker-c', grants: ['file_read'] }),
    (e) => e instanceof DeniedError && e.reasonName === 'widen_tool' && e.code === 'denied' && e.status === 2);
});

test('the reason table is common/reason.c\'s, number for number', () => {
  const src = process.env.BATON_SRCDIR;
  if (!src)
    return;
  const text = fs.readFileSync(path.join(src, 'common/reason.c'), 'utf8');
  const types = fs.readFileSync(path.join(src, 'include/baton/types.h'), 'utf8');
  const num = Object.fromEntries([...types.matchAll(/(BATON_R_\w+)\s*=\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  const want = Object.fromEntries([...text.matchAll(/\{\s*(BATON_R_\w+),\s*"(\w+)"/g)].map((m) => [num[m[1]], m[2]]));
  assert.ok(Object.keys(want).length >= 40);
  assert.deepEqual(Object.fromEntries(Object.entries(REASONS).map(([n, r]) => [n, r[0]])), want);
});

test('present minimal: a call token showing only the call, spent once', async () => {
  const root = await c.mint({ as: 'alice', grants: ['db:read'], aud: 'db', ttl: 600, ctx: { workflow: 'w1' } });
  const call = await c.present(root.token, { tool: 'db', action: 'read', aud: 'db', minimal: true, disclose: ['iss', 'ctx.workflow'] });
  const v = await c.verify(call.token, { tool: 'db', action: 'read', aud: 'db' });
  assert.equal(v.allow, true);
  assert.equal(v.facts.iss, 'alice');
  assert.equal(v.facts.sub, '');
  assert.deepEqual(v.facts.jtis, [call.jti]);
  assert.deepEqual(v.facts.ctx, { workflow: 'w1' });
  assert.equal((await c.verify(call.token, { tool: 'db', action: 'read', aud: 'db' })).reason_name, 'replayed');
  await assert.rejects(c.present(root.token, { tool: 'db', action: 'read', aud: 'db', disclose: ['iss'] }), BadRequestError);
  const call2 = await c.present(root.token, { tool: 'db', action: 'read', aud: 'db', minimal: true });
  await c.revoke({ token: root.token });
  assert.equal((await c.verify(call2.token, { tool: 'db', action: 'read', aud: 'db' })).reason_name, 'revoked');
});

test('inspect, revoke, pubkeys, status', async () => {
  const m = await c.mint({ grants: '*', ttl: 60 });
  const ins = await c.inspect(m.token);
  assert.equal(ins.verified, true);
  assert.equal(ins.revoked, false);
  assert.equal(ins.chain[0].jti, m.jti);
  const r = await c.revoke({ token: m.token });
  assert.deepEqual(r.revoked, [m.jti]);
  assert.equal((await c.inspect(m.token)).revoked, true);
  const v = await c.verify(m.token, { tool: 'x' });
  assert.equal(v.reason_name, 'revoked');
  const m2 = await c.mint({ grants: '*', ttl: 60 });
  assert.deepEqual((await c.revoke({ jti: m2.jti })).revoked, [m2.jti]);	// dev mode: admin
  assert.equal((await c.verify(m2.token, { tool: 'x' })).reason_name, 'revoked');
  const k = await c.pubkeys();
  assert.equal(k.keys.length, 1);
  assert.match(k.keys[0].pk, /^[0-9a-f]{64}$/);
  const s = await c.status({ format: 'prometheus' });
  assert.ok(s.counters.minted >= 2);
  assert.match(s.text, /baton_/);
  const bad = await c.inspect('bt1_AAAA');
  assert.equal(bad.verified, false);
});

test('errors: bad_request, denied with a reason, client-side limits', async () => {
  await assert.rejects(c.verify('bt1_x', {}), (e) => e instanceof BadRequestError && e.code === 'bad_request' && e.retry === 'no');
  await assert.rejects(c.mint({ grants: ['x'], ttl: 10 ** 7 }),
    (e) => e instanceof DeniedError && e.reason === 60 && e.reasonName === 'ttl_too_long');
  await assert.rejects(c.verify('bt1_' + 'A'.repeat(70000), { tool: 'x' }), TooBigError);
  await assert.rejects(c.revoke({ jti: 'zz' }), TypeError);
  assert.throws(() => toGrants(['']), TypeError);
  // the connection is still good after each of those
  assert.equal((await c.status()).dev_mode, true);
});

test('pipelining: many requests in flight on one connection, matched by id', async () => {
  const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    c.mint({ grants: [`tool${i}`], ttl: 60 })));
  const answers = await Promise.all(tokens.map((t, i) =>
    c.verify(t.token, { tool: `tool${i % 2 === 0 ? i : i + 1}` })));
  answers.forEach((a, i) => assert.equal(a.allow, i % 2 === 0, `request ${i}`));
  assert.equal(new Set(tokens.map((t) => t.jti)).size, 40);
});

test('socket path: option, then BATON_SOCKET, then the default', () => {
  const old = process.env.BATON_SOCKET;
  try {
    process.env.BATON_SOCKET = '/tmp/env.sock';
    assert.equal(socketPath('/tmp/opt.sock'), '/tmp/opt.sock');
    assert.equal(socketPath(), '/tmp/env.sock');
    assert.equal(new BatonClient().path, '/tmp/env.sock');
    delete process.env.BATON_SOCKET;
    assert.equal(socketPath(''), DEFAULT_SOCKET);
  } finally {
    if (old === undefined) delete process.env.BATON_SOCKET; else process.env.BATON_SOCKET = old;
  }
});

test('no broker: unavailable, saying where it looked', async () => {
  const x = new BatonClient({ socket: path.join(b.dir, 'nothing.sock'), timeoutMs: 500 });
  await assert.rejects(x.status(), (e) => e instanceof UnavailableError && /nothing\.sock/.test(e.message));
  x.close();
});

test('a restarted broker: the next call reconnects', async () => {
  const x = b.client();
  const m = await x.mint({ grants: ['a'], ttl: 60 });
  await b.stop();
  const b2 = await startBrokerAt(b);
  try {
    // the old connection is gone; status is sent on a new one
    const s = await x.status();
    assert.equal(s.dev_mode, true);
    // state survived: the token still verifies against the same keys
    assert.equal((await x.verify(m.token, { tool: 'a' })).allow, true);
  } finally {
    x.close();
    b.child = b2.child;
  }
});

// restart batond on the same socket and state directory
async function startBrokerAt(old) {
  const { spawn } = await import('node:child_process');
  const log = fs.openSync(path.join(old.dir, 'batond2.log'), 'w');
  const child = spawn(process.env.BATOND, ['-f', '--socket', old.socket, '--state-dir', path.join(old.dir, 'state')],
    { stdio: ['ignore', log, log] });
  old.stop = async () => {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
  };
  for (let i = 0; i < 200; i++) {
    const p = new BatonClient({ socket: old.socket, timeoutMs: 500 });
    try {
      await p.status();
      p.close();
      break;
    } catch {
      p.close();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { child };
}

test('an idle client does not keep the process alive', async () => {
  const { execFile } = await import('node:child_process');
  const url = new URL('../src/index.js', import.meta.url).href;
  const code = `const { BatonClient } = await import(${JSON.stringify(url)});
    const c = new BatonClient({ socket: ${JSON.stringify(b.socket)} });
    console.log((await c.status()).dev_mode);`;
  const out = await new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 10000 },
      (e, stdout) => (e ? reject(e) : resolve(stdout))));
  assert.equal(out.trim(), 'true');
});

test('close() during connect ends the call at once', async () => {
  const x = b.client({ timeoutMs: 30000 });
  const t0 = Date.now();
  const p = x.status();
  x.close();
  await assert.rejects(p, UnavailableError);
  assert.ok(Date.now() - t0 < 5000);
  await assert.rejects(x.status(), /client closed/);
});
