// mcp.test.js: the bearer verifier and per-call authorization against the
// real MCP TypeScript SDK, v1 (@modelcontextprotocol/sdk) and v2
// (@modelcontextprotocol/server, @modelcontextprotocol/express), and a
// real batond.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import { z } from 'zod';

import * as v1errors from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth as v1RequireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { McpServer as V1McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTransport as V1InMemory } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// the v2 line needs node >= 20; on Debian 12's node 18 its tests are skipped
const V2_SKIP = Number(process.versions.node.split('.')[0]) < 20 && 'SDK v2 needs node >= 20';
const v2 = V2_SKIP ? null : await import('@modelcontextprotocol/server');
const v2RequireBearerAuth = V2_SKIP ? null : (await import('@modelcontextprotocol/express')).requireBearerAuth;

import {
  batonVerifier, protectTools, withBatonToken, denial, chainGrants, grantScopes,
  invalidTokenError, BatonInvalidTokenError, DENIED_CODE,
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

// ---- the verifier's contract --------------------------------------------

test('verifyAccessToken: AuthInfo with scopes, expiry, resource and the chain', async () => {
  const root = await c.mint({ as: 'alice', grants: { db: { actions: ['read', 'write'] }, files: {}, mail: { actions: ['send'] } },
    aud: ['https://mcp.example/db', 'other'], ttl: 600 });
  const w = await c.attenuate(root.token, { as: 'orchestrator', grants: { db: { actions: ['read'] }, files: {} }, ttl: 300 });
  const v = batonVerifier({ audience: 'https://mcp.example/db', client: c });
  const info = await v.verifyAccessToken(w.token);
  assert.equal(info.token, w.token);
  assert.equal(info.clientId, 'alice');
  assert.deepEqual(info.scopes, ['db:read', 'files']);
  assert.ok(Math.abs(info.expiresAt - (Date.now() / 1000 + 300)) < 5);
  assert.ok(info.resource instanceof URL);
  assert.equal(info.resource.href, 'https://mcp.example/db');
  assert.equal(info.extra.issuer, 'alice');
  assert.equal(info.extra.subject, 'alice');
  assert.equal(info.extra.depth, 1);
  assert.deepEqual(info.extra.chain, [{ delegator: 'alice', jti: root.jti }, { delegator: 'orchestrator', jti: w.jti }]);
  assert.deepEqual(info.extra.audience, ['https://mcp.example/db', 'other']);
});

test('verifyAccessToken: a wildcard token has scope "*"; argument rules do not stop it', async () => {
  const v = batonVerifier({ audience: 'db', client: c });
  const all = await c.mint({ grants: '*', aud: ['db'], ttl: 60 });
  assert.deepEqual((await v.verifyAccessToken(all.token)).scopes, ['*']);
  const ruled = await c.mint({ grants: { q: { where: { table: [['eq', 'orders']] } } }, aud: ['db'], ttl: 60 });
  assert.deepEqual((await v.verifyAccessToken(ruled.token)).scopes, ['q']);
  assert.equal((await v.verifyAccessToken(ruled.token)).resource, undefined);
  // the probe stops at argument_rejected, before revocation: inspect must
  // catch a revoked ancestor of such a token
  const child = await c.attenuate(ruled.token, { as: 'bob' });
  assert.equal((await v.verifyAccessToken(child.token)).extra.depth, 1);
  await c.revoke({ token: ruled.token });
  await assert.rejects(v.verifyAccessToken(child.token), /baton: revoked/);
});

async function rejectsInvalid(p, reason) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof v1errors.InvalidTokenError, `v1 class: ${e}`);
    if (v2)
      assert.ok(e instanceof v2.OAuthError, 'v2 brand');
    assert.equal(e.code, 'invalid_token');
    assert.equal(e.errorCode, 'invalid_token');
    assert.match(e.message, new RegExp(reason));
    return true;
  });
}

test('verifyAccessToken: invalid, revoked, expired, foreign and single-use tokens are InvalidTokenError', async () => {
  const v = batonVerifier({ audience: 'db', client: c });
  await rejectsInvalid(v.verifyAccessToken('not a token'), 'bad_prefix');
  await rejectsInvalid(v.verifyAccessToken('bt1_AAAA'), 'baton: ');
  const good = await c.mint({ grants: ['db:read'], aud: ['db'], ttl: 60 });
  // a payload byte changed (the sig and tag fields are not covered, TOKEN.md 5)
  const forged = good.token.slice(0, 40) + (good.token[40] === 'A' ? 'B' : 'A') + good.token.slice(41);
  await rejectsInvalid(v.verifyAccessToken(forged), 'bad_signature|malformed|bad_base64');
  const other = await c.mint({ grants: ['db:read'], aud: ['files'], ttl: 60 });
  await rejectsInvalid(v.verifyAccessToken(other.token), 'audience_mismatch');
  const noAud = await c.mint({ grants: ['db:read'], ttl: 60 });
  await rejectsInvalid(v.verifyAccessToken(noAud.token), 'audience_mismatch');
  const lax = batonVerifier({ audience: 'db', client: c, allowNoAudience: true });
  assert.deepEqual((await lax.verifyAccessToken(noAud.token)).scopes, ['db:read']);
  const once = await c.mint({ grants: ['db:read'], aud: ['db'], ttl: 60, single_use: true });
  await rejectsInvalid(v.verifyAccessToken(once.token), 'single-use');
  // and it was not spent by that refusal
  assert.equal((await c.verify(once.token, { tool: 'db', action: 'read', aud: 'db' })).allow, true);
  const later = await c.mint({ grants: ['db:read'], aud: ['db'], ttl: 60, nbf: Math.floor(Date.now() / 1000) + 30 });
  await rejectsInvalid(v.verifyAccessToken(later.token), 'not_yet_valid');
  const bound = await c.mint({ grants: ['db:read'], aud: ['db'], ttl: 60, holder: 'worker' });
  await rejectsInvalid(v.verifyAccessToken(bound.token), 'not_presented');
  const parent = await c.mint({ as: 'alice', grants: ['db:read'], aud: ['db'], ttl: 60 });
  const child = await c.attenuate(parent.token, { as: 'bob', ttl: 30 });
  assert.equal((await v.verifyAccessToken(child.token)).extra.depth, 1);
  await c.revoke({ token: parent.token });
  await rejectsInvalid(v.verifyAccessToken(child.token), 'revoked');
  const short = await c.mint({ grants: ['db:read'], aud: ['db'], ttl: 1 });
  await new Promise((r) => setTimeout(r, 2100));
  await rejectsInvalid(v.verifyAccessToken(short.token), 'expired');
});

test('verifyAccessToken: no broker is an error the SDK answers 500, never a pass', async () => {
  const v = batonVerifier({ audience: 'db', socket: `${b.dir}/none.sock`, timeoutMs: 300 });
  await assert.rejects(v.verifyAccessToken('bt1_AAAA'), (e) => e.name === 'UnavailableError');
  assert.throws(() => batonVerifier({}), TypeError);
});

test('chainGrants intersects blocks, as doc/TOKEN.md 8.2 says', () => {
  const g = chainGrants([
    { grants: { a: { actions: ['r', 'w'] }, b: {}, c: { actions: [] } } },
    { grants: '*' },
    { grants: { a: { actions: ['r', 'x'] }, c: {} } },
  ]);
  assert.deepEqual(grantScopes(g), ['a:r', 'c']);
  assert.deepEqual(grantScopes(chainGrants([{ kind: 'root' }])), ['*']);
});

test('the fallback error without any SDK has the same contract', async () => {
  const e = new BatonInvalidTokenError('x');
  assert.deepEqual(e.toResponseObject(), { error: 'invalid_token', error_description: 'x' });
  const f = await invalidTokenError('y');
  assert.equal(f.toResponseObject().error, 'invalid_token');
});

// Run code in a copy of the package that sees only the named packages.
async function withOnly(pkgs, code) {
  const here = path.dirname(new URL(import.meta.url).pathname);
  const nm = path.join(here, '..', 'node_modules');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-only-'));
  try {
    fs.cpSync(path.join(here, '..', 'src'), path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}');
    for (const p of pkgs) {
      fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', p)), { recursive: true });
      fs.symlinkSync(path.join(nm, p), path.join(dir, 'node_modules', p));
    }
    fs.writeFileSync(path.join(dir, 't.js'), code);
    return await new Promise((resolve, reject) =>
      execFile(process.execPath, [path.join(dir, 't.js')], { timeout: 20000 },
        (e, out, err) => (e ? reject(new Error(err || e.message)) : resolve(JSON.parse(out)))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('without any SDK: an error v2 would still recognise', async () => {
  const r = await withOnly(['@msgpack/msgpack'], `
    import { invalidTokenError, BatonInvalidTokenError } from './src/index.js';
    const e = await invalidTokenError('x');
    console.log(JSON.stringify({ ours: e instanceof BatonInvalidTokenError, code: e.code,
      body: e.toResponseObject(), brand: [...e[Symbol.for('mcp.sdk.errorBrands')]] }));`);
  assert.deepEqual(r, { ours: true, code: 'invalid_token',
    body: { error: 'invalid_token', error_description: 'x' }, brand: ['mcp.OAuthError'] });
});

test('with only SDK v2: its own OAuthError, answered 401', { skip: V2_SKIP }, async () => {
  const r = await withOnly(['@msgpack/msgpack', '@modelcontextprotocol/server', '@modelcontextprotocol/core', 'zod'], `
    import { invalidTokenError } from './src/index.js';
    import { OAuthError, bearerAuthChallengeResponse } from '@modelcontextprotocol/server';
    const e = await invalidTokenError('baton: revoked: token has been revoked');
    const res = bearerAuthChallengeResponse(e, {});
    console.log(JSON.stringify({ v2: e instanceof OAuthError, status: res.status,
      challenge: res.headers.get('www-authenticate') }));`);
  assert.equal(r.v2, true);
  assert.equal(r.status, 401);
  assert.match(r.challenge, /invalid_token.*revoked/);
});

test('with both SDKs: v1\'s class, which v2 answers 401 too', { skip: V2_SKIP }, async () => {
  const e = await invalidTokenError('baton: expired: token has expired');
  assert.ok(e instanceof v1errors.InvalidTokenError);
  assert.equal(v2.bearerAuthChallengeResponse(e, {}).status, 401);
});

// ---- the verifier inside the SDKs' bearer middleware ---------------------

async function listen(app) {
  const srv = http.createServer(app);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

for (const [line, requireBearerAuth] of [['v1', v1RequireBearerAuth], ['v2', v2RequireBearerAuth]]) {
  test(`${line} requireBearerAuth: 200 with req.auth, 401 for bad tokens, 500 without a broker`,
    { skip: line === 'v2' && V2_SKIP }, async () => {
    const verifier = batonVerifier({ audience: 'https://mcp.example/', client: c });
    const app = express();
    app.get('/x', requireBearerAuth({ verifier, requiredScopes: ['db:read'] }), (req, res) =>
      res.json({ scopes: req.auth.scopes, depth: req.auth.extra.depth }));
    const dead = batonVerifier({ audience: 'https://mcp.example/', socket: `${b.dir}/none.sock`, timeoutMs: 300 });
    app.get('/dead', requireBearerAuth({ verifier: dead }), (req, res) => res.json({}));
    const s = await listen(app);
    try {
      const get = (p, tok) => fetch(s.url + p, { headers: tok ? { authorization: `Bearer ${tok}` } : {} });
      const t = await c.mint({ grants: ['db:read', 'db:write'], aud: ['https://mcp.example/'], ttl: 60 });
      let r = await get('/x', t.token);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { scopes: ['db:read', 'db:write'], depth: 0 });
      await c.revoke({ token: t.token });
      r = await get('/x', t.token);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /invalid_token.*revoked/);
      assert.equal((await r.json()).error, 'invalid_token');
      assert.equal((await get('/x')).status, 401);
      const wrong = await c.mint({ grants: ['db:read'], aud: ['https://elsewhere/'], ttl: 60 });
      assert.equal((await get('/x', wrong.token)).status, 401);
      const narrow = await c.mint({ grants: ['db:write'], aud: ['https://mcp.example/'], ttl: 60 });
      assert.equal((await get('/x', narrow.token)).status, 403, 'insufficient scope');
      assert.equal((await get('/dead', t.token)).status, 500);
    } finally {
      await s.close();
    }
  });
}

// ---- per-call authorization ------------------------------------------------

test('withBatonToken puts the token in _meta and keeps the rest', () => {
  const p = withBatonToken({ name: 't', arguments: { a: 1 }, _meta: { progressToken: 7 } }, 'bt1_x');
  assert.deepEqual(p, { name: 't', arguments: { a: 1 }, _meta: { progressToken: 7, 'io.baton/token': 'bt1_x' } });
  assert.deepEqual(withBatonToken(undefined, 'bt1_y', 'k')._meta, { k: 'bt1_y' });
  assert.throws(() => withBatonToken({}, 'x'), TypeError);
});

test('denial has baton-mcp-guard\'s shape', () => {
  assert.deepEqual(denial(3, 'replayed'), { jsonrpc: '2.0', id: 3,
    error: { code: -31403, message: 'baton: replayed: single-use token was already used', data: { reason: 'replayed' } } });
});

test('v1 McpServer behind protectTools: allowed calls run without the token, denials never reach the handler', async () => {
  const seen = [];
  const server = new V1McpServer({ name: 'db', version: '1' });
  server.registerTool('db_query', { inputSchema: { table: z.string(), action: z.string().optional() } }, async (args, extra) => {
    seen.push({ args, meta: extra._meta });
    return { content: [{ type: 'text', text: `rows of ${args.table}` }] };
  });
  server.registerTool('file_read', { inputSchema: { path: z.string() } }, async () => {
    seen.push('file_read');
    return { content: [{ type: 'text', text: 'file' }] };
  });
  const denials = [];
  protectTools(server, { audience: 'db', client: c, actionArg: 'action', actions: { file_read: 'read' },
    onDeny: (m, why) => denials.push(why) });
  const [ct, st] = V1InMemory.createLinkedPair();
  await server.connect(st);
  const client = new V1Client({ name: 'orchestrator', version: '1' });
  await client.connect(ct);

  const root = await c.mint({ grants: { db_query: { actions: ['read'], where: { table: [['in', ['orders', 'users']]] } } },
    aud: ['db'], ttl: 600 });
  const call = (tok, name, args) => client.callTool(tok === undefined ? { name, arguments: args } : withBatonToken({ name, arguments: args }, tok));
  const p = await c.present(root.token, { tool: 'db_query', action: 'read', aud: 'db' });
  const r = await call(p.token, 'db_query', { table: 'orders', action: 'read' });
  assert.equal(r.content[0].text, 'rows of orders');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].meta?.['io.baton/token'], undefined, 'the token never reaches the handler');
  assert.equal(seen[0].meta['io.baton/facts'].depth, 1, 'the broker\'s facts do');
  assert.equal(seen[0].meta['io.baton/facts'].presented, true);
  // facts a client sends are dropped, never believed
  // a minimal call token (PROTOCOL.md, present): the handler sees only the call
  const p2 = await c.present(root.token, { tool: 'db_query', action: 'read', aud: 'db', minimal: true });
  await client.callTool({ name: 'db_query', arguments: { table: 'users', action: 'read' },
    _meta: { 'io.baton/token': p2.token, 'io.baton/facts': { limits: { max_rows: 1e9 } } } });
  assert.equal(seen[1].meta['io.baton/facts'].limits.max_rows, undefined);
  assert.equal(seen[1].meta['io.baton/facts'].depth, 0);
  assert.equal(seen[1].meta['io.baton/facts'].delegators.length, 1);
  seen.pop();

  const denied = async (tok, name, args, reason) => {
    await assert.rejects(call(tok, name, args), (e) => {
      assert.equal(e.code, DENIED_CODE);
      assert.match(e.message, new RegExp(`baton: ${reason}`));
      assert.deepEqual(e.data, { reason });
      return true;
    });
  };
  await denied(p.token, 'db_query', { table: 'orders', action: 'read' }, 'replayed');
  await denied(root.token, 'file_read', { path: '/etc/passwd' }, 'tool_not_granted');
  await denied(root.token, 'db_query', { table: 'secrets', action: 'read' }, 'argument_rejected');
  await denied(root.token, 'db_query', { table: 'orders', action: 'drop' }, 'action_not_granted');
  await denied(undefined, 'db_query', { table: 'orders' }, 'token_missing');
  const other = await c.mint({ grants: ['db_query:read'], aud: ['files'], ttl: 60 });
  await denied(other.token, 'db_query', { table: 'orders', action: 'read' }, 'audience_mismatch');
  const anyAud = await c.mint({ grants: ['db_query:read'], ttl: 60 });
  await denied(anyAud.token, 'db_query', { table: 'orders', action: 'read' }, 'audience_mismatch');
  await c.revoke({ token: root.token });
  await denied(root.token, 'db_query', { table: 'orders', action: 'read' }, 'revoked');
  assert.equal(seen.length, 1, 'no denied call ran');
  assert.equal(denials.length, 8);
  // everything else passes: listing tools needs no token
  assert.equal((await client.listTools()).tools.length, 2);
  await client.close();
});

test('v2 McpServer behind protectTools, raw JSON-RPC: order kept, notifications never run', { skip: V2_SKIP }, async () => {
  const seen = [];
  const server = new v2.McpServer({ name: 'cal', version: '1' });
  server.registerTool('find_slot', { inputSchema: z.object({ day: z.string() }) }, async (args, ctx) => {
    seen.push(args.day);
    return { content: [{ type: 'text', text: `09:00 on ${args.day}` }] };
  });
  protectTools(server, { audience: 'calendar', client: c, actions: { find_slot: 'find' } });
  const [ct, st] = v2.InMemoryTransport.createLinkedPair();
  const got = [];
  ct.onmessage = (m) => got.push(m);
  await ct.start();
  await server.server.connect(st);	// the inner Server is guarded too
  const send = (m) => ct.send(m);
  await send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const t = await c.mint({ grants: ['find_slot'], aud: ['calendar'], ttl: 60 });
  const once = await c.present(t.token, { tool: 'find_slot', action: 'find', aud: 'calendar' });
  await send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: withBatonToken({ name: 'find_slot', arguments: { day: 'mon' } }, once.token) });
  await send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: withBatonToken({ name: 'find_slot', arguments: { day: 'tue' } }, once.token) });
  await send({ jsonrpc: '2.0', method: 'tools/call', params: withBatonToken({ name: 'find_slot', arguments: { day: 'wed' } }, t.token) });
  await send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'find_slot', arguments: { day: 'thu' }, _meta: { 'io.baton/token': 42 } } });
  await send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: 'nonsense' });
  await send({ jsonrpc: '2.0', id: 6, method: 'ping' });
  for (let i = 0; i < 100 && got.length < 6; i++)
    await new Promise((r) => setTimeout(r, 20));
  const byId = Object.fromEntries(got.map((m) => [m.id, m]));
  assert.equal(byId[2].result.content[0].text, '09:00 on mon');
  assert.deepEqual(byId[3].error, denial(3, 'replayed').error);
  assert.deepEqual(byId[4].error.data, { reason: 'malformed' });
  assert.deepEqual(byId[5].error.data, { reason: 'bad_request' });
  assert.deepEqual(byId[6].result, {});
  assert.deepEqual(got.map((m) => m.id), [1, 2, 3, 4, 5, 6], 'answers in arrival order');
  assert.deepEqual(seen, ['mon'], 'the notification call never ran');
  await server.close();
});
