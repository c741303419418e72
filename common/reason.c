/* reason.c: names and English text for decision reasons and error codes. */

#include <stddef.h>

#include "baton/types.h"

/*
 * Names are protocol: the broker sends them in error bodies, the CLI prints
 * them and scripts match on them.  Never rename one; append new reasons.
 */
struct reason_entry {
	int		 reason;
	const char	*name;
	const char	*text;
};

static const struct reason_entry reasons[] = {
	{ BATON_R_OK, "ok", "allowed" },

	{ BATON_R_BAD_PREFIX, "bad_prefix",
	    "token text does not start with \"bt1_\"" },
	{ BATON_R_BAD_BASE64, "bad_base64",
	    "token text is not canonical unpadded base64url" },
	{ BATON_R_TOO_LARGE, "too_large",
	    "token or payload is over its size limit" },
	{ BATON_R_MALFORMED, "malformed",
	    "token envelope is malformed" },
	{ BATON_R_TRAILING_BYTES, "trailing_bytes",
	    "token has bytes after the envelope" },
	{ BATON_R_UNKNOWN_FORMAT, "unknown_format",
	    "token envelope format is not 1" },
	{ BATON_R_CHAIN_TOO_LONG, "chain_too_long",
	    "token has no blocks or more than 16" },

	{ BATON_R_UNKNOWN_KEY, "unknown_key",
	    "token is signed with a key that is not trusted" },
	{ BATON_R_BAD_SIGNATURE, "bad_signature",
	    "token signature and tag do not verify" },
	{ BATON_R_KEY_RETIRED, "key_retired",
	    "token is signed with a retired key, or outlives that key" },
	{ BATON_R_BAD_SEAL, "bad_seal",
	    "call token's sealed lineage does not open with this broker's key" },

	{ BATON_R_BAD_PAYLOAD, "bad_payload",
	    "token block payload is malformed" },
	{ BATON_R_UNKNOWN_VERSION, "unknown_version",
	    "token block version is not 1" },
	{ BATON_R_UNKNOWN_CRITICAL, "unknown_critical",
	    "token block has an unknown critical field" },

	{ BATON_R_NOT_YET_VALID, "not_yet_valid", "token is not yet valid" },
	{ BATON_R_EXPIRED, "expired", "token has expired" },

	{ BATON_R_DEPTH_EXCEEDED, "depth_exceeded",
	    "token is delegated deeper than a block allows" },
	{ BATON_R_BAD_CHAIN, "bad_chain",
	    "token blocks are inconsistent with each other" },

	{ BATON_R_TOOL_NOT_GRANTED, "tool_not_granted",
	    "token does not grant this tool" },
	{ BATON_R_ACTION_NOT_GRANTED, "action_not_granted",
	    "token does not grant this action on the tool" },
	{ BATON_R_AUDIENCE_MISMATCH, "audience_mismatch",
	    "token is not for this audience" },
	{ BATON_R_ARGUMENT_REJECTED, "argument_rejected",
	    "a call argument does not satisfy the token's constraints" },
	{ BATON_R_LIMIT_EXCEEDED, "limit_exceeded",
	    "requested usage is over the token's limit" },
	{ BATON_R_NOT_PRESENTED, "not_presented",
	    "holder-bound token was used without a presentation" },
	{ BATON_R_HOLDER_MISMATCH, "holder_mismatch",
	    "caller is not the holder the token is bound to" },

	{ BATON_R_TTL_TOO_LONG, "ttl_too_long",
	    "requested lifetime is longer than the parent's remaining time" },
	{ BATON_R_WIDEN_TOOL, "widen_tool",
	    "requested tool is not granted by the parent" },
	{ BATON_R_WIDEN_ACTION, "widen_action",
	    "requested action is not granted by the parent" },
	{ BATON_R_WIDEN_LIMIT, "widen_limit",
	    "requested limit is higher than the parent's" },
	{ BATON_R_WIDEN_AUDIENCE, "widen_audience",
	    "requested audience is not in the parent's" },
	{ BATON_R_WIDEN_DEPTH, "widen_depth",
	    "requested max_depth is higher than the parent allows" },
	{ BATON_R_NO_DEPTH_LEFT, "no_depth_left",
	    "parent token may not be delegated further" },
	{ BATON_R_ALREADY_PRESENTED, "already_presented",
	    "a presented token cannot be extended" },
	{ BATON_R_BAD_RESTRICTION, "bad_restriction",
	    "requested restriction is empty or invalid" },

	{ BATON_R_REVOKED, "revoked", "token has been revoked" },
	{ BATON_R_REPLAYED, "replayed", "single-use token was already used" },
	{ BATON_R_POLICY_DENIED, "policy_denied", "policy denied the request" },
	{ BATON_R_IDENTITY_DENIED, "identity_denied",
	    "caller may not act as that agent" },
	{ BATON_R_RATE_LIMITED, "rate_limited", "caller is rate limited" },
	{ BATON_R_UNAVAILABLE, "unavailable",
	    "a state source is unavailable; failing closed" },
};

struct error_entry {
	int		 err;
	const char	*text;
};

static const struct error_entry errors[] = {
	{ BATON_OK, "success" },
	{ BATON_ENOMEM, "out of memory" },
	{ BATON_EINVAL, "invalid argument" },
	{ BATON_EMALFORMED, "malformed token, frame or file" },
	{ BATON_EDENIED, "denied" },
	{ BATON_EIO, "input/output error" },
	{ BATON_ETIMEOUT, "timed out" },
	{ BATON_EUNAVAIL, "broker or source unavailable" },
	{ BATON_EPROTO, "protocol error" },
	{ BATON_ETOOBIG, "input over a size limit" },
	{ BATON_ENOKEY, "no usable key" },
	{ BATON_EPERM, "not permitted" },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct reason_entry *
reason_find(int reason)
{
	size_t	i;

	for (i = 0; i < NITEMS(reasons); i++) {
		if (reasons[i].reason == reason)
			return (&reasons[i]);
	}
	return (NULL);
}

const char *
baton_reason_name(int reason)
{
	const struct reason_entry	*e;

	if ((e = reason_find(reason)) == NULL)
		return ("unknown");
	return (e->name);
}

const char *
baton_reason_text(int reason)
{
	const struct reason_entry	*e;

	if ((e = reason_find(reason)) == NULL)
		return ("unknown");
	return (e->text);
}

const char *
baton_strerror(int err)
{
	size_t	i;

	for (i = 0; i < NITEMS(errors); i++) {
		if (errors[i].err == err)
			return (errors[i].text);
	}
	return ("unknown");
}
