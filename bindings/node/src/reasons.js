// reasons.js: the decision reasons of common/reason.c, by number.  The
// names are protocol (the broker sends them, scripts match on them); the
// test suite compares this table with the broker's own answers.

export const REASONS = Object.freeze({
  0: ["ok", "allowed"],
  1: ["bad_prefix", "token text does not start with \"bt1_\""],
  2: ["bad_base64", "token text is not canonical unpadded base64url"],
  3: ["too_large", "token or payload is over its size limit"],
  4: ["malformed", "token envelope is malformed"],
  5: ["trailing_bytes", "token has bytes after the envelope"],
  6: ["unknown_format", "token envelope format is not 1"],
  7: ["chain_too_long", "token has no blocks or more than 16"],
  10: ["unknown_key", "token is signed with a key that is not trusted"],
  11: ["bad_signature", "token signature and tag do not verify"],
  12: ["key_retired", "token is signed with a retired key, or outlives that key"],
  13: ["bad_seal", "call token's sealed lineage does not open with this broker's key"],
  20: ["bad_payload", "token block payload is malformed"],
  21: ["unknown_version", "token block version is not 1"],
  22: ["unknown_critical", "token block has an unknown critical field"],
  30: ["not_yet_valid", "token is not yet valid"],
  31: ["expired", "token has expired"],
  40: ["depth_exceeded", "token is delegated deeper than a block allows"],
  41: ["bad_chain", "token blocks are inconsistent with each other"],
  50: ["tool_not_granted", "token does not grant this tool"],
  51: ["action_not_granted", "token does not grant this action on the tool"],
  52: ["audience_mismatch", "token is not for this audience"],
  53: ["argument_rejected", "a call argument does not satisfy the token's constraints"],
  54: ["limit_exceeded", "requested usage is over the token's limit"],
  55: ["not_presented", "holder-bound token was used without a presentation"],
  56: ["holder_mismatch", "caller is not the holder the token is bound to"],
  60: ["ttl_too_long", "requested lifetime is longer than the parent's remaining time"],
  61: ["widen_tool", "requested tool is not granted by the parent"],
  62: ["widen_action", "requested action is not granted by the parent"],
  63: ["widen_limit", "requested limit is higher than the parent's"],
  64: ["widen_audience", "requested audience is not in the parent's"],
  65: ["widen_depth", "requested max_depth is higher than the parent allows"],
  66: ["no_depth_left", "parent token may not be delegated further"],
  67: ["already_presented", "a presented token cannot be extended"],
  68: ["bad_restriction", "requested restriction is empty or invalid"],
  70: ["revoked", "token has been revoked"],
  71: ["replayed", "single-use token was already used"],
  72: ["policy_denied", "policy denied the request"],
  73: ["identity_denied", "caller may not act as that agent"],
  74: ["rate_limited", "caller is rate limited"],
  75: ["unavailable", "a state source is unavailable; failing closed"],
});

const BY_NAME = new Map(Object.values(REASONS).map(([n, t]) => [n, t]));

/** The stable name of reason number n, or "unknown". */
export function reasonName(n) {
  return REASONS[n]?.[0] ?? 'unknown';
}

/** English text for a reason name, or undefined for names not listed. */
export function reasonText(name) {
  return BY_NAME.get(name);
}
