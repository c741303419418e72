// http.test.js: an SDK v1 Streamable HTTP server using the package both
// ways: requireBearerAuth(batonVerifier) at the door, protectTools on every
// tools/call, the bearer token standing in when _meta holds none; the SDK's
// own HTTP client on the other end.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import { z } from 'zod';

import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { batonVerifier, protectTools, withBatonToken, DENIED_CODE } from '../src/index.js';
import { startBroker } from './broker.js';

const AUD = 'http://127.0.0.1/mcp';
let b, c, srv, url;
const ran = [];

before(async () => {
  b = await startBroker();
  c = b.client();
  const verifier = batonVerifier({ audience: AUD, client: c });
  const app = express();
  app.use(express.json());
  app.post('/mcp', requireBearerAuth({ verifier }), async (req, res) => {
    // stateless: one server and transport per request, as the SDK shows
    const server = new McpServer({ name: 'db', version: '1' });
    server.registerTool('db_query', { inputSchema: { table: z.string() } }, async ({ table }, extra) => {
      ran.push({ table, meta: extra._meta, auth: extra.authInfo?.extra?.depth });
      return { content: [{ type: 'text', text: `rows of ${table}` }] };
    });
    protectTools(server, { audience: AUD, client: c, actions: { db_query: 'read' } });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  srv = http.createServer(app);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  url = new URL(`http://127.0.0.1:${srv.address().port}/mcp`);
});

after(async () => {
  await new Promise((r) => srv?.close(r));
  c?.close();
  await b?.cleanup();
});

async function connect(bearer) {
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url,
    { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
  return client;
}

test('the bearer token opens the door and authorizes calls it grants', async () => {
  const t = await c.mint({ grants: { db_query: { actions: ['read'], where: { table: [['eq', 'orders']] } } }, aud: [AUD], ttl: 60 });
  const client = await connect(t.token);
  const r = await client.callTool({ name: 'db_query', arguments: { table: 'orders' } });
  assert.equal(r.content[0].text, 'rows of orders');
  await assert.rejects(client.callTool({ name: 'db_query', arguments: { table: 'users' } }),
    (e) => e.code === DENIED_CODE && e.data?.reason === 'argument_rejected');
  // a per-call token in _meta is preferred to the bearer token
  const once = await c.present(t.token, { tool: 'db_query', action: 'read', aud: AUD });
  await client.callTool(withBatonToken({ name: 'db_query', arguments: { table: 'orders' } }, once.token));
  await assert.rejects(client.callTool(withBatonToken({ name: 'db_query', arguments: { table: 'orders' } }, once.token)),
    (e) => e.code === DENIED_CODE && e.data?.reason === 'replayed');
  assert.deepEqual(ran.map((x) => x.table), ['orders', 'orders']);
  assert.ok(ran.every((x) => x.meta?.['io.baton/token'] === undefined));
  assert.equal(ran[0].auth, 0, 'the handler sees the AuthInfo of the verifier');
  await client.close();
});

test('a token for another server, or revoked, is a 401 before any MCP', async () => {
  const other = await c.mint({ grants: ['db_query:read'], aud: ['http://elsewhere/mcp'], ttl: 60 });
  await assert.rejects(connect(other.token), /401|invalid_token|Unauthorized/i);
  const noAud = await c.mint({ grants: ['db_query:read'], ttl: 60 });
  await assert.rejects(connect(noAud.token), /401|invalid_token|Unauthorized/i);
  const t = await c.mint({ grants: ['db_query:read'], aud: [AUD], ttl: 60 });
  const client = await connect(t.token);
  await c.revoke({ token: t.token });
  await assert.rejects(client.callTool({ name: 'db_query', arguments: { table: 'orders' } }), /401|invalid_token|Unauthorized/i);
  await client.close().catch(() => {});
});
