/*
 * baton/verify.h: libbaton-verify, what tool servers link to decide whether
 * a presented token allows one call: through the broker (full checks), or
 * offline against a public-key bundle from `baton pubkeys --json`.
 *
 * Offline verification checks the signature, time, chain rules and the
 * request binding, but it CANNOT check revocation or single-use replay:
 * those live in the broker.  Use it only where that is acceptable.
 *
 * Conventions as in baton/agent.h: out-parameter first, caller owns *out,
 * one NULL-safe free per type, 0 or a negative BATON_E* code, never prints
 * or exits, one mutex per handle.
 */
#ifndef BATON_VERIFY_H
#define BATON_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <baton/types.h>
#include <baton/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the request to decide -------------------------------------------- */

enum baton_arg_type {
	BATON_ARG_STR = 1,
	BATON_ARG_INT = 2,
	BATON_ARG_BOOL = 3
};

/* One argument of the tool call, checked against the token's "where". */
struct baton_call_arg {
	const char		*name;
	enum baton_arg_type	 type;
	const char		*str;	/* BATON_ARG_STR */
	int64_t			 num;	/* BATON_ARG_INT, or BOOL 0/1 */
};

/* One usage figure ("max_rows" = 250) checked against the token's limits. */
struct baton_call_usage {
	const char		*name;
	uint64_t		 value;
};

#define BATON_VERIFY_OPTS_VERSION 1
struct baton_verify_opts {
	unsigned int		 version;	/* BATON_VERIFY_OPTS_VERSION */
	const char		*tool;		/* required */
	const char		*action;	/* NULL: none requested */
	const char		*audience;	/* this service; NULL: none */
	const struct baton_call_arg *args;
	size_t			 nargs;
	const struct baton_call_usage *usage;
	size_t			 nusage;
	uint64_t		 now;		/* offline only; 0: time(NULL) */
	unsigned int		 leeway;	/* offline only: clock skew, s */
};
#define BATON_VERIFY_OPTS_INIT \
	{ BATON_VERIFY_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0 }

/*
 * Parse "K=V" into an argument: V is an integer when it is a decimal
 * integer, a boolean when "true" or "false", else a string.  The strings
 * in *arg point into kv, which is modified (the '=' becomes NUL).
 * Returns 0 or BATON_EINVAL.
 */
BATON_EXTERN int baton_call_arg_parse(struct baton_call_arg *arg, char *kv);

/* ---- the decision --------------------------------------------------------- */

/* A decision and the token's effective facts.  Opaque. */
struct baton_verify_result;

/*
 * Verify token for one call through the broker: envelope, tag or
 * signature, strict decode, time, chain, request binding, revocation,
 * policy, and consumption of single-use blocks.
 *
 * Returns 0 only when the call is ALLOWED.  Returns BATON_EDENIED when it
 * is denied; *out then holds the reason (and the facts the broker could
 * compute).  Any other negative code (BATON_EUNAVAIL, BATON_ETIMEOUT,
 * BATON_EPROTO, BATON_EINVAL, BATON_ENOMEM, BATON_EPERM) means no
 * decision was made and *out is NULL: treat it as a deny.  A verify is
 * never sent twice: if the connection breaks after the request went out,
 * the broker may have allowed it and spent a single-use token, so the
 * answer is BATON_EUNAVAIL rather than a misleading "replayed".
 * Free *out with baton_verify_result_free().
 */
BATON_EXTERN int baton_verify(struct baton_verify_result **out,
    struct baton_client *c, const char *token,
    const struct baton_verify_opts *opts) BATON_CHECK;

/*
 * As baton_verify(), but a dry run that spends no single-use token and
 * writes no audit record: the result's JSON (baton_verify_result_json)
 * holds "explain", one line per core check and per authorize stack line,
 * then the decision.  The broker answers the agent that may verify for
 * opts->audience, root and its admin group.
 */
BATON_EXTERN int baton_explain(struct baton_verify_result **out,
    struct baton_client *c, const char *token,
    const struct baton_verify_opts *opts) BATON_CHECK;

/* Trusted public keys for offline verification.  Opaque. */
struct baton_keybundle;

/*
 * Read a key bundle: the JSON from `baton pubkeys --json`,
 * {"not_after": N, "keys": [{"kid": HEX16, "pk": HEX64, "not_after": N,
 * ...}]}.  The bundle's own not_after, when present, ends the trust in
 * every key of it (key_retired after it).  Returns 0, BATON_EMALFORMED,
 * BATON_EIO (file), BATON_ETOOBIG (over 1 MiB), BATON_ENOKEY (no keys),
 * BATON_ENOMEM.
 */
BATON_EXTERN int baton_keybundle_parse(struct baton_keybundle **out,
    const char *json, size_t len) BATON_CHECK;
BATON_EXTERN int baton_keybundle_load(struct baton_keybundle **out,
    const char *path) BATON_CHECK;
/*
 * Several brokers: add the keys of the bundle file at path to kb, all or
 * none.  A kid kb already holds is BATON_EINVAL; at most 32 keys in all
 * (BATON_ETOOBIG).  Otherwise returns as baton_keybundle_load().  Since
 * the BATON_VERIFY_1 symbol version (libtool interface 2).
 */
BATON_EXTERN int baton_keybundle_add(struct baton_keybundle *kb,
    const char *path) BATON_CHECK;
/*
 * Every NAME.json of dir (names starting with a dot skipped), in name
 * order, as by baton_keybundle_add(): the layout of batond's trusted-keys
 * directory.  A directory without keys is BATON_ENOKEY.  Since
 * BATON_VERIFY_1.
 */
BATON_EXTERN int baton_keybundle_load_dir(struct baton_keybundle **out,
    const char *dir) BATON_CHECK;
BATON_EXTERN size_t baton_keybundle_count(const struct baton_keybundle *kb);
BATON_EXTERN void baton_keybundle_free(struct baton_keybundle *kb);

/*
 * Verify token offline against the bundle: signature (never the broker's
 * tag), time, chain rules and request binding.  NO revocation or replay
 * check.  Returns as baton_verify().
 */
BATON_EXTERN int baton_verify_offline(struct baton_verify_result **out,
    const struct baton_keybundle *kb, const char *token,
    const struct baton_verify_opts *opts) BATON_CHECK;

BATON_EXTERN void baton_verify_result_free(struct baton_verify_result *r);

/* 1 if the call is allowed, else 0. */
BATON_EXTERN int baton_verify_result_allowed(
    const struct baton_verify_result *r);
/* The reason (enum baton_reason); BATON_R_OK when allowed. */
BATON_EXTERN int baton_verify_result_reason(
    const struct baton_verify_result *r);
/* The reason's stable name ("expired"); static. */
BATON_EXTERN const char *baton_verify_result_reason_name(
    const struct baton_verify_result *r);

/*
 * The effective facts.  Strings are borrowed from r; absent facts give
 * NULL or 0.  depth is the number of blocks after the root.
 */
BATON_EXTERN const char *baton_verify_result_iss(
    const struct baton_verify_result *r);
BATON_EXTERN const char *baton_verify_result_sub(
    const struct baton_verify_result *r);
BATON_EXTERN uint64_t baton_verify_result_exp(
    const struct baton_verify_result *r);
BATON_EXTERN uint64_t baton_verify_result_depth(
    const struct baton_verify_result *r);
/* 1 if the token grants every tool. */
BATON_EXTERN int baton_verify_result_wildcard(
    const struct baton_verify_result *r);
/* Granted tools (when not wildcard). */
BATON_EXTERN size_t baton_verify_result_ntools(
    const struct baton_verify_result *r);
BATON_EXTERN const char *baton_verify_result_tool(
    const struct baton_verify_result *r, size_t i);
/*
 * The effective (minimum over the chain) limit name of the requested
 * tool.  Returns 0 and *max, or BATON_EINVAL when the token sets no such
 * limit (the caller then applies its own default).
 */
BATON_EXTERN int baton_verify_result_limit(
    const struct baton_verify_result *r, const char *name, uint64_t *max);
/* A correlation value (ctx), or NULL. */
BATON_EXTERN const char *baton_verify_result_ctx(
    const struct baton_verify_result *r, const char *key);
/* The chain: per block, the agent (iss or delegator) and the jti hex. */
BATON_EXTERN size_t baton_verify_result_chain_len(
    const struct baton_verify_result *r);
BATON_EXTERN const char *baton_verify_result_chain_agent(
    const struct baton_verify_result *r, size_t i);
BATON_EXTERN const char *baton_verify_result_chain_jti(
    const struct baton_verify_result *r, size_t i);
/*
 * The whole decision as JSON: {"allow", "reason", "reason_name",
 * "facts": {...}}.  Borrowed.  Built on first use, so a result must not
 * be read from two threads at once.
 */
BATON_EXTERN const char *baton_verify_result_json(
    const struct baton_verify_result *r);

#ifdef __cplusplus
}
#endif
#endif /* BATON_VERIFY_H */
