// consumer.ts: what a TypeScript tool server or orchestrator writes; types.test.js
// compiles it against index.d.ts and the SDK's own OAuthTokenVerifier type.
import { BatonClient, batonVerifier, protectTools, withBatonToken, DeniedError } from '../../src/index.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
const c = new BatonClient({ socket: '/tmp/x' });
async function f() {
  const t = await c.mint({ grants: ['db:read'], aud: 'db', ttl: 60 });
  const p = await c.present(t.token, { tool: 'db', action: 'read', aud: 'db', minimal: true });
  const v = await c.verify(p.token, { tool: 'db', action: 'read', aud: 'db', args: { a: 1 } });
  if (v.allow) console.log(v.facts?.depth);
  const verifier: OAuthTokenVerifier = batonVerifier({ audience: 'db' });
  const s = protectTools(new McpServer({ name: 'x', version: '1' }), { audience: 'db' });
  const params = withBatonToken({ name: 'db', arguments: {} }, p.token);
  try { await c.revoke({ jti: t.jti }); } catch (e) { if (e instanceof DeniedError) console.log(e.reasonName); }
  return [verifier, s, params];
}
f();
