/*
 * baton/agent.h: libbaton-agent, what orchestrators and agents link to mint,
 * attenuate, present and revoke baton tokens through the broker, and to
 * inspect a token offline.  No key material ever enters the process.
 *
 * Conventions (libgit2's): out-parameter first; what comes back through
 * **out belongs to the caller and has exactly one NULL-safe free function;
 * getters return pointers borrowed from their object; functions return 0
 * or a negative BATON_E* code (baton/types.h, baton_strerror()).  Nothing
 * here prints or exits.  A handle may be used from any thread; calls on one
 * handle are serialized by its mutex, so use one handle per thread for
 * parallelism.
 */
#ifndef BATON_AGENT_H
#define BATON_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <baton/types.h>
#include <baton/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- grant sets: what a token grants, or what a child asks for --------- */

/*
 * A set of tool grants, with per-tool actions, limits and argument
 * constraints, plus audiences and correlation context.  Build one, pass it
 * to mint or attenuate, free it.  Opaque.
 */
struct baton_grantset;

/* Returns 0, or BATON_ENOMEM. */
BATON_EXTERN int baton_grantset_new(struct baton_grantset **out);
BATON_EXTERN void baton_grantset_free(struct baton_grantset *gs);

/*
 * Grant a tool.  actions is a comma-separated list of lowercase action
 * names, or NULL or "" for any action.  Granting the same tool twice
 * merges the actions.  tool "*" grants every tool (mint only).  Returns 0,
 * BATON_EINVAL (empty or malformed name) or BATON_ENOMEM.
 */
BATON_EXTERN int baton_grantset_add_tool(struct baton_grantset *gs,
    const char *tool, const char *actions);

/* Limit a tool's resource (e.g. "max_rows"); adds the tool if needed. */
BATON_EXTERN int baton_grantset_add_limit(struct baton_grantset *gs,
    const char *tool, const char *name, uint64_t max);

/*
 * Constrain one argument of a tool with a predicate written as text:
 *
 *   eq:V          the argument equals V
 *   in:A,B,...    the argument is one of A, B, ...
 *   prefix:P      a string argument starts with P
 *   glob:G        a string argument matches G ('*' and '?' only)
 *   range:LO..HI  an integer argument lies in LO..HI, inclusive
 *   maxlen:N      a string argument is at most N bytes long
 *
 * Values V, A, B are sent as integers when they are decimal integers, as
 * booleans when they are "true" or "false", else as strings.  Several
 * predicates on one argument must all hold.  Returns 0, BATON_EINVAL for
 * a malformed predicate, or BATON_ENOMEM.
 */
BATON_EXTERN int baton_grantset_add_where(struct baton_grantset *gs,
    const char *tool, const char *arg, const char *pred);

/* Restrict the audiences (tool-server service names) the token is for. */
BATON_EXTERN int baton_grantset_add_audience(struct baton_grantset *gs,
    const char *aud);

/* Add a correlation entry (correlation, workflow, step...); signed, never
 * used for decisions. */
BATON_EXTERN int baton_grantset_add_ctx(struct baton_grantset *gs,
    const char *key, const char *value);

/* ---- issued tokens ------------------------------------------------------ */

/* A token the broker issued, with its jti and expiry.  Opaque. */
struct baton_issued;

/* The token text "bt1_..."; borrowed.  Never log it. */
BATON_EXTERN const char *baton_issued_token(const struct baton_issued *t);
/* The new block's jti as 32 lowercase hex digits; borrowed. */
BATON_EXTERN const char *baton_issued_jti(const struct baton_issued *t);
/* Expiry, unix seconds. */
BATON_EXTERN uint64_t baton_issued_exp(const struct baton_issued *t);
/* Wipe and free; NULL is fine. */
BATON_EXTERN void baton_issued_free(struct baton_issued *t);

/* ---- mint, attenuate, present, revoke ----------------------------------- */

#define BATON_MINT_OPTS_VERSION 1
struct baton_mint_opts {
	unsigned int		 version;	/* BATON_MINT_OPTS_VERSION */
	const struct baton_grantset *grants;	/* required */
	const char		*as;		/* agent id (iss); NULL: default */
	const char		*subject;	/* principal; NULL: none */
	uint64_t		 ttl;		/* seconds; 0: broker default */
	int			 max_depth;	/* < 0: broker default */
	int			 single_use;
	const char		*holder;	/* bind to this agent; NULL: none */
};
#define BATON_MINT_OPTS_INIT \
	{ BATON_MINT_OPTS_VERSION, NULL, NULL, NULL, 0, -1, 0, NULL }

/*
 * Mint a root token.  Returns 0 and the token in *out (free with
 * baton_issued_free), or BATON_EDENIED (see baton_client_last_reason: the
 * caller may not act as that agent, or policy refused), BATON_EINVAL,
 * BATON_EUNAVAIL, BATON_ETIMEOUT, BATON_EPROTO, BATON_ENOMEM.
 */
BATON_EXTERN int baton_client_mint(struct baton_issued **out,
    struct baton_client *c, const struct baton_mint_opts *opts);

#define BATON_ATTENUATE_OPTS_VERSION 1
struct baton_attenuate_opts {
	unsigned int		 version;	/* BATON_ATTENUATE_OPTS_VERSION */
	const struct baton_grantset *grants;	/* NULL: inherit everything */
	const char		*as;		/* delegator; NULL: default */
	uint64_t		 ttl;		/* 0: the parent's remaining time */
	int			 max_depth;	/* < 0: inherit */
	int			 single_use;
	const char		*holder;	/* NULL: inherit */
};
#define BATON_ATTENUATE_OPTS_INIT \
	{ BATON_ATTENUATE_OPTS_VERSION, NULL, NULL, 0, -1, 0, NULL }

/*
 * Append a delegation block to parent, narrowing it.  The broker refuses
 * any widening (BATON_EDENIED with reason ttl_too_long, widen_tool, ...)
 * rather than clamping.  opts may be NULL (inherit all).  Returns as
 * baton_client_mint.
 */
BATON_EXTERN int baton_client_attenuate(struct baton_issued **out,
    struct baton_client *c, const char *parent,
    const struct baton_attenuate_opts *opts);

#define BATON_PRESENT_OPTS_VERSION 2
struct baton_present_opts {
	unsigned int		 version;	/* BATON_PRESENT_OPTS_VERSION */
	const char		*tool;		/* required */
	const char		*action;	/* required */
	const char		*audience;	/* required: the tool server */
	const char		*as;		/* presenter; NULL: default */
	uint64_t		 ttl;		/* 0: broker default (120 s max) */
	/* version 2: */
	int			 minimal;	/* a call token, chain sealed */
	const char *const	*disclose;	/* "iss", "sub", "ctx.KEY" */
	size_t			 ndisclose;
};
#define BATON_PRESENT_OPTS_INIT \
	{ BATON_PRESENT_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, 0, NULL, 0 }

/*
 * Present a token for one call: a short-lived (at most 120 s), single-use
 * block bound to one tool, action and audience.  A holder-bound token can
 * only be presented by its holder.  With minimal set, the broker issues a
 * call token instead of extending the chain: one block showing the tool
 * server only this call and the claims named in disclose ("iss", "sub",
 * "ctx.KEY"), with the chain sealed inside for the broker alone.  Returns
 * as baton_client_mint, and BATON_EMALFORMED when token is not a token.
 * Version 1 option structs are still accepted.
 */
BATON_EXTERN int baton_client_present(struct baton_issued **out,
    struct baton_client *c, const char *token,
    const struct baton_present_opts *opts);

/*
 * Revoke one block by jti (32 hex digits), which revokes every token that
 * contains it.  Returns 0, BATON_EINVAL (not a jti), BATON_EDENIED,
 * BATON_EPERM, or a connection error.
 */
BATON_EXTERN int baton_client_revoke_jti(struct baton_client *c,
    const char *jti_hex);

/*
 * Revoke a token by its last block: the token and everything delegated
 * from it stop verifying; its parents stay valid.  The token must carry a
 * valid signature (it may have expired).  Revoking by jti needs admin
 * rights on a configured broker (BATON_EPERM otherwise); revoking a token
 * one holds does not.  Returns as baton_client_revoke_jti.
 */
BATON_EXTERN int baton_client_revoke_token(struct baton_client *c,
    const char *token);

/*
 * The broker's trusted public keys as a JSON document (the bundle that
 * baton_keybundle_parse() in libbaton-verify reads).  *out is malloc'd,
 * NUL-terminated; free it with baton_string_free().
 */
BATON_EXTERN int baton_client_pubkeys(char **out, struct baton_client *c);

/*
 * The broker's status as JSON (prometheus 0) or in Prometheus text format
 * (prometheus 1).  *out as in baton_client_pubkeys.
 */
BATON_EXTERN int baton_client_status(char **out, struct baton_client *c,
    int prometheus);

/*
 * Admin (root, or the broker's admin-group): make a new signing key.  The
 * old key keeps verifying what it signed until its tokens have expired.
 * With emergency set, every older key is distrusted and deleted at once,
 * so every token they signed stops verifying: for a key that may have
 * been exposed.  *out is {"kid": HEX16, "distrusted": N} as JSON (N: keys
 * removed), freed with baton_string_free().  Returns 0, BATON_EPERM,
 * BATON_EUNAVAIL (the key could not be written; nothing changed), or a
 * connection error.  Never retried: a lost answer may mean it happened.
 */
BATON_EXTERN int baton_client_rotate(char **out, struct baton_client *c,
    int emergency);

/*
 * Admin: re-read the configuration, as SIGHUP does.  A bad file is
 * refused with BATON_EINVAL (the message, with file and line, in
 * baton_client_last_error()) and the old configuration stays in force.
 * Returns 0, BATON_EINVAL, BATON_EPERM, or a connection error.
 */
BATON_EXTERN int baton_client_reload(struct baton_client *c);

/*
 * Admin: acknowledge what lookup source `source` refuses to pass over
 * alone, e.g. "redis" after Redis came back without its data
 * (baton_redis(8)).  On success *out holds what the source did (free
 * with baton_string_free).  Returns 0, BATON_EPERM, BATON_EUNAVAIL (the
 * source could not: the reason in baton_client_last_error()), or a
 * connection error.
 */
BATON_EXTERN int baton_client_source_ack(char **out, struct baton_client *c,
    const char *source);

/* Free a string returned by this library; NULL is fine. */
BATON_EXTERN void baton_string_free(char *s);

/* ---- offline inspection --------------------------------------------------- */

/*
 * A token decoded WITHOUT any signature check: for showing a chain to a
 * person, never for a decision.  Opaque.
 */
struct baton_inspect;

/*
 * Decode token.  Returns 0, or BATON_EMALFORMED (with the reason in
 * *reason when reason is not NULL), or BATON_ENOMEM.
 */
BATON_EXTERN int baton_inspect_token(struct baton_inspect **out,
    const char *token, int *reason);
BATON_EXTERN void baton_inspect_free(struct baton_inspect *in);

/*
 * The whole chain as JSON: {"kid", "blocks": [{"index", "kind", "jti",
 * "iat", "exp", "iss"|"delegator", "sub", "holder", "aud", "grants",
 * "max_depth", "single_use", "ctx"}...], "effective": {...}}.  Borrowed.
 */
BATON_EXTERN const char *baton_inspect_json(const struct baton_inspect *in);

/*
 * The chain as a readable tree: who delegated what to whom and when each
 * block expires, one line per fact.  Borrowed.
 */
BATON_EXTERN const char *baton_inspect_tree(const struct baton_inspect *in);

/* Number of blocks, and per block: kind ("mint", "attenuate", "present"),
 * agent (iss or delegator), jti hex and expiry.  Borrowed strings;
 * index out of range gives NULL or 0. */
BATON_EXTERN size_t baton_inspect_nblocks(const struct baton_inspect *in);
BATON_EXTERN const char *baton_inspect_block_kind(
    const struct baton_inspect *in, size_t i);
BATON_EXTERN const char *baton_inspect_block_agent(
    const struct baton_inspect *in, size_t i);
BATON_EXTERN const char *baton_inspect_block_jti(
    const struct baton_inspect *in, size_t i);
BATON_EXTERN uint64_t baton_inspect_block_exp(const struct baton_inspect *in,
    size_t i);

#ifdef __cplusplus
}
#endif
#endif /* BATON_AGENT_H */
