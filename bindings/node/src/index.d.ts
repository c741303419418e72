// index.d.ts: types of the package's public API (the JavaScript is in
// the .js files next to this one).

export const PROTOCOL_VERSION: 1;
export const DEFAULT_SOCKET: string;
export const DEFAULT_TIMEOUT_MS: number;
export const MAX_FRAME: 65536;
export const OPS: Readonly<Record<'hello' | 'mint' | 'attenuate' | 'present' | 'verify' |
  'revoke' | 'inspect' | 'pubkeys' | 'status' | 'rotate' | 'reload', number>>;

export type Pred = ['eq', string | number | boolean] | ['in', Array<string | number | boolean>] |
  ['prefix', string] | ['glob', string] | ['range', number, number] | ['maxlen', number];
export interface ToolGrant {
  actions?: string[];
  limits?: Record<string, number>;
  where?: Record<string, Pred[]>;
}
/** "*", the wire map, or short form: ["tool", "tool:action", ...] */
export type Grants = '*' | Record<string, ToolGrant> | string[];

export interface IssueOptions {
  as?: string; sub?: string; ttl?: number; nbf?: number; aud?: string | string[];
  grants?: Grants; max_depth?: number; single_use?: boolean; holder?: string;
  ctx?: Record<string, string>;
}
export interface Issued { token: string; jti: string; exp: number }
export interface PresentOptions {
  as?: string; tool: string; action: string; aud: string; ttl?: number;
  minimal?: boolean; disclose?: string[];
}
export interface VerifyOptions {
  tool: string; action?: string; aud?: string;
  args?: Record<string, string | number | boolean>; usage?: Record<string, number>;
}
export interface Facts {
  wildcard: boolean; tools: string[]; any_action: boolean; actions: string[];
  limits: Record<string, number>; depth: number; iss: string; sub: string;
  holder?: string; aud?: string[]; exp: number; kid: string;
  delegators: string[]; jtis: string[]; ctx: Record<string, string>; presented: boolean;
}
export interface Decision { allow: boolean; reason: number; reason_name: string; facts?: Facts }

export interface ClientOptions { socket?: string; timeoutMs?: number; clientName?: string }

export class BatonClient {
  constructor(opts?: ClientOptions);
  readonly path: string;
  readonly timeoutMs: number;
  hello(): Promise<Record<string, unknown>>;
  mint(o: IssueOptions & { grants: Grants }): Promise<Issued>;
  attenuate(token: string, o?: IssueOptions): Promise<Issued>;
  present(token: string, o: PresentOptions): Promise<Issued>;
  verify(token: string, o: VerifyOptions): Promise<Decision>;
  revoke(o: string | { token: string; block?: number } | { jti: string | Uint8Array }): Promise<{ revoked: string[] }>;
  inspect(token: string): Promise<{ verified: boolean; reason: number; reason_name: string;
    chain: Array<Record<string, unknown>>; kid?: string; revoked?: boolean }>;
  /** A key bundle: other brokers trust it (trusted-keys) until not_after. */
  pubkeys(): Promise<{ kid?: string; issued: number; not_after: number;
    keys: Array<{ kid: string; pk: string; not_after: number; signing: boolean }> }>;
  status(o?: { format?: 'prometheus' }): Promise<Record<string, unknown>>;
  call(op: number, body?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}
export function socketPath(opt?: string): string;
export function toGrants(g: Grants): '*' | Record<string, ToolGrant>;

export class BatonError extends Error {
  code: string; status?: number; retry: string; reason?: number; reasonName?: string;
}
export class BadRequestError extends BatonError {}
export class DeniedError extends BatonError {}
export class UnavailableError extends BatonError {}
export class TooBigError extends BatonError {}
export class VersionError extends BatonError {}
export class UnknownOpError extends BatonError {}
export class RateLimitedError extends BatonError {}
export class PermissionError extends BatonError {}
export class InternalError extends BatonError {}
export class ShutdownError extends BatonError {}
export class ProtocolError extends BatonError {}
export class TimeoutError extends BatonError {}
export const WIRE_ERRORS: ReadonlyArray<readonly [string, typeof BatonError | null, string]>;
export function wireError(status: number, body: unknown): BatonError;

export const REASONS: Readonly<Record<number, readonly [string, string]>>;
export function reasonName(n: number): string;
export function reasonText(name: string): string | undefined;

export class FrameReader {
  constructor(max?: number);
  readonly buffered: number;
  push(chunk: Uint8Array): Uint8Array[];
}
export function encodeFrame(body: Uint8Array): Uint8Array;

// ---- MCP ----

export const TOKEN_KEY: 'io.baton/token';
export const FACTS_KEY: 'io.baton/facts';
export const DENIED_CODE: -31403;
export const PROBE_TOOL: string;

/** The SDK's AuthInfo, as both lines define it. */
export interface BatonAuthInfo {
  token: string; clientId: string; scopes: string[]; expiresAt?: number; resource?: URL;
  extra: {
    issuer: string; subject: string; depth: number;
    chain: Array<{ delegator: string; jti: string }>; jti: string;
    holder?: string; audience?: string[]; ctx: Record<string, string>;
  };
}
export interface VerifierOptions extends ClientOptions {
  audience: string; client?: BatonClient; resource?: string | URL; allowNoAudience?: boolean;
}
export function batonVerifier(opts: VerifierOptions): {
  verifyAccessToken(token: string): Promise<BatonAuthInfo>;
  client: BatonClient;
};
export class BatonInvalidTokenError extends Error {
  readonly errorCode: 'invalid_token';
  toResponseObject(): { error: 'invalid_token'; error_description: string };
}
export function invalidTokenError(message: string): Promise<Error>;
export function chainGrants(chain: Array<Record<string, unknown>>): Map<string, Set<string> | null> | null;
export function grantScopes(grants: Map<string, Set<string> | null> | null): string[];

export interface ProtectOptions extends ClientOptions {
  audience: string; client?: BatonClient; tokenKey?: string; factsKey?: string | false;
  actions?: Record<string, string>; actionArg?: string; allowNoAudience?: boolean;
  bearer?: boolean; onDeny?: (msg: unknown, reason: string) => void;
}
export function protectTools<S extends { connect(transport: any): Promise<void> }>(server: S, opts: ProtectOptions): S;
export function guardTransport<T extends { start(): Promise<void> }>(transport: T, opts: ProtectOptions): T;
export function decideCall(client: BatonClient, msg: unknown, opts: ProtectOptions, bearer?: string): Promise<string | null>;
export function denial(id: string | number, reason: string): {
  jsonrpc: '2.0'; id: string | number; error: { code: -31403; message: string; data: { reason: string } };
};
export function withBatonToken<P extends object>(params: P | undefined, token: string, key?: string):
  P & { _meta: Record<string, unknown> };
