// mcp.js: baton for MCP servers and clients built on the official
// TypeScript SDK, v1 (@modelcontextprotocol/sdk) and v2
// (@modelcontextprotocol/server, @modelcontextprotocol/express).
//
//   batonVerifier()     the OAuthTokenVerifier their requireBearerAuth takes
//   protectTools()      per-call authorization of every tools/call
//   withBatonToken()    the orchestrator's side: a token in params._meta

import { BatonClient } from './client.js';
import { BadRequestError, PermissionError, TooBigError } from './errors.js';
import { reasonText } from './reasons.js';

export const TOKEN_KEY = 'io.baton/token';
// where protectTools hands the broker's facts on an allowed call to the
// handler (extra._meta), overwriting whatever the client put there
export const FACTS_KEY = 'io.baton/facts';
export const DENIED_CODE = -31403;	// baton-mcp-guard's, outside JSON-RPC's range
// a tool name no grant can hold: asks "is this token good here" of a
// wildcard token without naming a real tool
export const PROBE_TOOL = 'io.baton/bearer';

// ---- the SDK's error class, loaded when present ----------------------------

// v2 recognises its errors by a brand under this registry symbol, so that two
// copies of the SDK accept each other's errors; v1 by its class.
const BRANDS = Symbol.for('mcp.sdk.errorBrands');

/** Raised when neither SDK line is installed; same contract as theirs. */
export class BatonInvalidTokenError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InvalidTokenError';
  }
  get errorCode() {
    return 'invalid_token';
  }
  toResponseObject() {
    return { error: 'invalid_token', error_description: this.message };
  }
}

let sdkErrors;	// promise of { V1Invalid?, V2OAuthError? }

async function loadSdkErrors() {
  const out = {};
  try {
    out.V1Invalid = (await import('@modelcontextprotocol/sdk/server/auth/errors.js')).InvalidTokenError;
  } catch { /* v1 not installed */ }
  try {
    const m = await import('@modelcontextprotocol/server');
    if (typeof m.OAuthError === 'function' && m.OAuthErrorCode?.InvalidToken)
      out.V2OAuthError = m.OAuthError;
  } catch { /* v2 not installed */ }
  return out;
}

/**
 * An invalid_token error both SDK lines answer with 401: v1's
 * InvalidTokenError when v1 is installed (v1 checks the class), carrying
 * v2's brand and code (v2 checks those); v2's own OAuthError when only v2
 * is; else BatonInvalidTokenError with the same brand and code.
 */
export async function invalidTokenError(message) {
  sdkErrors ??= loadSdkErrors();
  const { V1Invalid, V2OAuthError } = await sdkErrors;
  if (!V1Invalid && V2OAuthError)
    return new V2OAuthError('invalid_token', message);
  const e = V1Invalid ? new V1Invalid(message) : new BatonInvalidTokenError(message);
  Object.defineProperty(e, 'code', { value: 'invalid_token', enumerable: false, configurable: true });
  Object.defineProperty(e, BRANDS, { value: new Set(['mcp.OAuthError']), configurable: true });
  return e;
}

// ---- what a token grants, from inspect's chain ---------------------------

/*
 * The tools a chain grants, each with its actions (null: any action), or
 * null for every tool.  Attenuation only narrows, so intersecting the
 * blocks that restrict something gives what the broker computes.
 */
export function chainGrants(chain) {
  let tools = null;	// Map tool -> Set of actions | null
  for (const b of chain ?? []) {
    const g = b?.grants;
    if (g === undefined || g === null || g === '*')
      continue;
    if (typeof g !== 'object')
      return new Map();
    const next = new Map();
    for (const [tool, tg] of Object.entries(g)) {
      if (tools !== null && !tools.has(tool))
        continue;
      const prev = tools === null ? null : tools.get(tool);
      // an empty or absent action list is no restriction (doc/TOKEN.md 8.2)
      let acts = Array.isArray(tg?.actions) && tg.actions.length > 0 ? new Set(tg.actions) : null;
      if (prev !== null && prev !== undefined)
        acts = acts === null ? new Set(prev) : new Set([...acts].filter((a) => prev.has(a)));
      next.set(tool, acts);
    }
    tools = next;
  }
  return tools;
}

/** Scopes for AuthInfo: "*", or "tool" (any action) and "tool:action". */
export function grantScopes(grants) {
  if (grants === null)
    return ['*'];
  const out = [];
  for (const [tool, acts] of grants) {
    if (acts === null)
      out.push(tool);
    else
      for (const a of [...acts].sort())
        out.push(`${tool}:${a}`);
  }
  return out.sort();
}

function clientOf(opts) {
  if (opts.client instanceof BatonClient)
    return opts.client;
  return new BatonClient({ socket: opts.socket, timeoutMs: opts.timeoutMs, clientName: opts.clientName ?? 'baton-node-mcp' });
}

function forUs(facts, audience, allowNoAudience) {
  const aud = facts?.aud;
  if (!Array.isArray(aud))
    return allowNoAudience === true;
  return aud.includes(audience);
}

// ---- the bearer verifier -----------------------------------------------

/**
 * An OAuthTokenVerifier for requireBearerAuth (v1 and v2).  opts:
 *   audience         this server's audience (required)
 *   client | socket, timeoutMs   the broker
 *   resource         URL for AuthInfo.resource (default: audience when it
 *                    parses as a URL)
 *   allowNoAudience  accept tokens that name no audience (default false:
 *                    the MCP specification wants tokens issued for us)
 *
 * verify needs a tool, and a bearer token is checked before any call is
 * known, so the check is two questions: inspect (signature or tag,
 * revocation, the chain), then verify for one tool and action the token
 * grants, with this audience, which checks time, key, depth, holder and
 * audience.  An answer of argument_rejected still means all of those held
 * (arguments are checked last, and the call's own verify checks them).
 * A single-use token is refused: that verify would spend it; send it per
 * call in _meta instead.
 */
export function batonVerifier(opts = {}) {
  if (typeof opts.audience !== 'string' || opts.audience === '')
    throw new TypeError('batonVerifier: audience is required');
  const client = clientOf(opts);
  let resource = opts.resource;
  if (typeof resource === 'string')
    resource = new URL(resource);
  else if (resource === undefined && /^https?:\/\//.test(opts.audience))
    resource = new URL(opts.audience);

  async function invalid(reason) {
    const text = reasonText(reason) ?? reason;
    const e = await invalidTokenError(`baton: ${reason}: ${text}`);
    e.reasonName = reason;
    return e;
  }

  async function verifyAccessToken(token) {
    if (typeof token !== 'string' || !token.startsWith('bt1_'))
      throw await invalid('bad_prefix');
    let ins;
    try {
      ins = await client.inspect(token);
    } catch (e) {
      if (e instanceof BadRequestError || e instanceof TooBigError)
        throw await invalid('malformed');
      throw e;	// no broker: the SDK answers 500, never a pass
    }
    if (ins.verified !== true)
      throw await invalid(ins.reason_name ?? 'bad_signature');
    if (ins.revoked === true)
      throw await invalid('revoked');
    const chain = Array.isArray(ins.chain) ? ins.chain : [];
    if (chain.some((b) => b?.single_use === true))
      throw await invalidTokenError('baton: single-use token: send it per call in ' +
        `params._meta["${TOKEN_KEY}"], not as a bearer token`);
    const grants = chainGrants(chain);
    let tool = PROBE_TOOL;
    let action;
    if (grants !== null) {
      const first = [...grants.keys()].sort()[0];
      if (first === undefined)
        throw await invalid('tool_not_granted');
      tool = first;
      const acts = grants.get(first);
      if (acts !== null)
        action = [...acts].sort()[0];
    }
    const v = await client.verify(token, { tool, action, aud: opts.audience });
    if (v.allow !== true && v.reason_name !== 'argument_rejected')
      throw await invalid(v.reason_name ?? 'unknown');
    const f = v.facts ?? {};
    if (!forUs(f, opts.audience, opts.allowNoAudience))
      throw await invalid('audience_mismatch');
    const jtis = Array.isArray(f.jtis) ? f.jtis : [];
    const delegators = Array.isArray(f.delegators) ? f.delegators : [];
    const info = {
      token,
      clientId: f.sub ?? '',
      scopes: grantScopes(grants),
      expiresAt: f.exp,
      extra: {
        issuer: f.iss,
        subject: f.sub,
        depth: f.depth,
        chain: delegators.map((d, i) => ({ delegator: d, jti: jtis[i] })),
        jti: jtis[jtis.length - 1],
        holder: f.holder,
        audience: f.aud,
        ctx: f.ctx,
      },
    };
    if (resource !== undefined)
      info.resource = resource;
    return info;
  }

  return { verifyAccessToken, client };
}

// ---- per-call authorization ---------------------------------------------

// baton-mcp-guard's own reason names, for denials that are not the broker's
const OWN = {
  token_missing: 'no baton token in params._meta',
  malformed: 'the baton token is not a string',
  unavailable: 'the baton broker could not decide',
  bad_request: 'the call cannot be verified as sent',
  not_permitted: 'the broker does not let this server verify for its audience',
  batch_refused: 'tools/call is not accepted inside a batch',
};

/** The JSON-RPC error answering a denied call, as baton-mcp-guard sends it. */
export function denial(id, reason) {
  const text = OWN[reason] ?? reasonText(reason) ?? 'denied';
  return {
    jsonrpc: '2.0', id,
    error: { code: DENIED_CODE, message: `baton: ${reason}: ${text}`, data: { reason } },
  };
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Arguments the broker can judge: strings, integers, booleans.  Others are
// left out, so a token constraining one finds it missing and refuses.
function callArgs(args) {
  const out = {};
  for (const [k, v] of Object.entries(args ?? {})) {
    if (typeof v === 'string' || typeof v === 'boolean' ||
        (typeof v === 'number' && Number.isSafeInteger(v)))
      out[k] = v;
  }
  return out;
}

/**
 * Decide one tools/call request (a JSON-RPC message, changed in place: the
 * token is taken out of params._meta).  Returns null when the broker
 * allows it, else the reason name.  bearer: a token to use when _meta
 * holds none (the HTTP Authorization token the verifier accepted).
 */
export async function decideCall(client, msg, opts, bearer) {
  const key = opts.tokenKey ?? TOKEN_KEY;
  const p = msg.params;
  if (!isObject(p) || typeof p.name !== 'string' || (p.arguments !== undefined && !isObject(p.arguments)))
    return 'bad_request';
  // facts come from the broker only, never from the caller
  if (isObject(p._meta) && opts.factsKey !== false)
    delete p._meta[opts.factsKey ?? FACTS_KEY];
  let token;
  let had = false;
  if (isObject(p._meta) && Object.prototype.hasOwnProperty.call(p._meta, key)) {
    had = true;
    token = p._meta[key];
    delete p._meta[key];
    if (Object.keys(p._meta).length === 0)
      delete p._meta;
  }
  if (!had) {
    if (typeof bearer !== 'string')
      return 'token_missing';
    token = bearer;
  }
  if (typeof token !== 'string')
    return 'malformed';
  let action;
  if (opts.actionArg !== undefined && typeof p.arguments?.[opts.actionArg] === 'string')
    action = p.arguments[opts.actionArg];
  else if (opts.actions !== undefined && Object.prototype.hasOwnProperty.call(opts.actions, p.name))
    action = opts.actions[p.name];
  let v;
  try {
    v = await client.verify(token, { tool: p.name, action, aud: opts.audience, args: callArgs(p.arguments) });
  } catch (e) {
    if (e instanceof BadRequestError || e instanceof TooBigError)
      return 'bad_request';
    if (e instanceof PermissionError)
      return 'not_permitted';
    return 'unavailable';
  }
  if (v.allow !== true)
    return typeof v.reason_name === 'string' ? v.reason_name : 'unavailable';
  if (!forUs(v.facts, opts.audience, opts.allowNoAudience))
    return 'audience_mismatch';
  if (opts.factsKey !== false)
    p._meta = { ...(isObject(p._meta) ? p._meta : {}), [opts.factsKey ?? FACTS_KEY]: v.facts };
  return null;
}

function isCall(m) {
  return isObject(m) && m.method === 'tools/call';
}

/**
 * Put the broker in front of one transport's incoming messages: every
 * tools/call is verified before the server sees it, in arrival order
 * (messages behind a call wait for its decision, so a cancellation never
 * overtakes the call it cancels).  Call before server.connect(transport).
 */
export function guardTransport(transport, opts) {
  if (typeof opts?.audience !== 'string' || opts.audience === '')
    throw new TypeError('protectTools: audience is required');
  const client = clientOf(opts);
  const onDeny = opts.onDeny ?? (() => {});
  const origStart = transport.start.bind(transport);
  let queue = Promise.resolve();

  async function handle(deliver, msg, extra) {
    if (Array.isArray(msg)) {
      // a batch: calls in it are refused, the rest goes on one by one
      for (const m of msg) {
        if (isCall(m)) {
          if (m.id !== undefined && m.id !== null)
            await transport.send(denial(m.id, 'batch_refused'), { relatedRequestId: m.id });
          onDeny(m, 'batch_refused');
        } else
          deliver(m, extra);
      }
      return;
    }
    if (!isCall(msg)) {
      deliver(msg, extra);
      return;
    }
    const bearer = opts.bearer === false ? undefined : extra?.authInfo?.token;
    // a notification is never delivered (it would still run) nor verified
    const why = msg.id === undefined || msg.id === null ? 'bad_request'
      : await decideCall(client, msg, opts, bearer);
    if (why === null) {
      deliver(msg, extra);
      return;
    }
    onDeny(msg, why);
    if (msg.id !== undefined && msg.id !== null)
      await transport.send(denial(msg.id, why), { relatedRequestId: msg.id });
  }

  transport.start = async function start() {
    // the server has set its handler by now (Protocol.connect sets it, then starts)
    const deliver = transport.onmessage;
    if (typeof deliver !== 'function')
      throw new Error('protectTools: the transport has no message handler');
    transport.onmessage = (msg, extra) => {
      queue = queue.then(() => handle(deliver, msg, extra)).catch((e) => transport.onerror?.(e));
    };
    return origStart();
  };
  return transport;
}

/**
 * Verify every tools/call of an SDK server (McpServer or Server, v1 or v2)
 * through the broker before its handler runs: the token is taken from
 * params._meta["io.baton/token"] (opts.tokenKey), or, over HTTP behind
 * requireBearerAuth with batonVerifier, from the Authorization header.
 * The token never reaches the handler; on an allowed call the broker's
 * facts (limits, depth, chain...) do, in extra._meta["io.baton/facts"]
 * (opts.factsKey; false: not at all).  A denial is answered as
 * baton-mcp-guard answers it: code -31403, "baton: REASON: text",
 * error.data = {reason}.  opts: audience (required), client | socket,
 * actions ({tool: action}), actionArg (take the action from that
 * argument), allowNoAudience, bearer (false: _meta only), onDeny(msg,
 * reason).  Returns the server.
 */
export function protectTools(server, opts) {
  if (typeof opts?.audience !== 'string' || opts.audience === '')
    throw new TypeError('protectTools: audience is required');
  const o = { ...opts, client: clientOf(opts) };
  // McpServer connects through its Server: guard that, so both paths are
  const target = typeof server.server?.connect === 'function' ? server.server : server;
  const connect = target.connect.bind(target);
  target.connect = (transport) => connect(guardTransport(transport, o));
  return server;
}

// ---- the orchestrator's side ---------------------------------------------

/**
 * A copy of a tools/call's params with token in _meta[key]; other _meta
 * entries are kept.  The token should be a presented one (single use,
 * bound to this tool, action and audience).
 */
export function withBatonToken(params, token, key = TOKEN_KEY) {
  if (typeof token !== 'string' || !token.startsWith('bt1_'))
    throw new TypeError('withBatonToken: want a bt1_ token');
  const p = isObject(params) ? params : {};
  return { ...p, _meta: { ...(isObject(p._meta) ? p._meta : {}), [key]: token } };
}
