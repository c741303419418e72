// errors.js: one error class per wire error code (doc/PROTOCOL.md section
// 4), plus the client's own: a broken stream, a timeout, no broker.

import { reasonText } from './reasons.js';

/** Base class: every error this package throws for the broker is one. */
export class BatonError extends Error {
  constructor(message, { code = 'error', status, retry = 'no', reason, reasonName } = {}) {
    super(message);
    this.name = new.target.name;
    /** wire error name ("denied", "bad_request", ...) or the client's own */
    this.code = code;
    /** wire status number, undefined for errors raised by the client */
    this.status = status;
    /** "no", "later" or "reconnect", as the broker said */
    this.retry = retry;
    /** decision reason number and stable name, when a rule refused */
    this.reason = reason;
    this.reasonName = reasonName;
  }
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
/** The broker sent something that breaks the protocol; the stream is dropped. */
export class ProtocolError extends BatonError {}
/** No answer within the client's timeout. */
export class TimeoutError extends BatonError {}

// index = wire status; names are doc/PROTOCOL.md's
export const WIRE_ERRORS = Object.freeze([
  ['ok', null, '-'],
  ['bad_request', BadRequestError, 'no'],
  ['denied', DeniedError, 'no'],
  ['unavailable', UnavailableError, 'later'],
  ['too_big', TooBigError, 'no'],
  ['version', VersionError, 'no'],
  ['unknown_op', UnknownOpError, 'no'],
  ['rate_limited', RateLimitedError, 'later'],
  ['permission', PermissionError, 'no'],
  ['internal', InternalError, 'later'],
  ['shutdown', ShutdownError, 'reconnect'],
]);

/** The error for a response with a non-zero status and its body. */
export function wireError(status, body) {
  const b = body !== null && typeof body === 'object' ? body : {};
  const known = WIRE_ERRORS[status];
  const Cls = known?.[1] ?? ProtocolError;
  const code = typeof b.error === 'string' ? b.error : (known?.[0] ?? `status_${status}`);
  const retry = typeof b.retry === 'string' ? b.retry : (known?.[2] ?? 'no');
  let reasonName = typeof b.reason_name === 'string' ? b.reason_name : undefined;
  const reason = Number.isInteger(b.reason) ? b.reason : undefined;
  // a denial without a reason is the authorize stack's (as libclient says)
  if (Cls === DeniedError && reasonName === undefined)
    reasonName = reason === undefined ? 'policy_denied' : undefined;
  const msg = typeof b.message === 'string' ? b.message : (reasonName ? reasonText(reasonName) : '');
  return new Cls(`broker: ${code}${msg ? ': ' + msg : ''}`,
    { code, status, retry, reason, reasonName });
}
