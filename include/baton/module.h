/*
 * baton/module.h: the ABI between batond and its modules (baton-module(3)).
 *
 * A module is a shared object in the broker's module directory that
 * exports exactly one symbol, baton_module_entry, returning a descriptor
 * that starts with a magic number, the ABI version and its own size.  The
 * broker checks all three, then copies what it understands.  Modules never
 * see the broker's internal structures: they read a decision through the
 * accessor functions of the host table, so the broker can change without
 * breaking them.  Everything a host function returns is borrowed for the
 * duration of the call that received the decision.
 */
#ifndef BATON_MODULE_H
#define BATON_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_MODULE_MAGIC	0x4241544dU	/* "BATM" */
#define BATON_MODULE_ABI	1
#define BATON_MODULE_ENTRY	"baton_module_entry"

/* What authorize answers. */
enum baton_answer {
	BATON_ANSWER_OK = 0,		/* this module allows */
	BATON_ANSWER_DENY = 1,		/* this module refuses, with a reason */
	BATON_ANSWER_IGNORE = 2,	/* no opinion: does not count */
	BATON_ANSWER_ERROR = 3		/* cannot decide (fails closed) */
};

/* When a decision is taken. */
enum baton_phase {
	BATON_PHASE_ISSUE = 1,		/* mint, attenuate, present */
	BATON_PHASE_VERIFY = 2
};

enum baton_log_level {
	BATON_LOG_DEBUG = 0,
	BATON_LOG_INFO = 1,
	BATON_LOG_WARN = 2
};

/* NSS-style lookups (sources.conf): databases and statuses. */
enum baton_database {
	BATON_DB_AGENTS = 1,		/* may this peer act as this agent? */
	BATON_DB_REVOCATION = 2,	/* is one of these jtis revoked? */
	BATON_DB_REPLAY = 3		/* spend these single-use jtis, all or
					   none: SUCCESS spent now, NOTFOUND
					   one was spent before (a replay) */
};

enum baton_status {
	BATON_STATUS_SUCCESS = 0,	/* yes: allowed, revoked, spent */
	BATON_STATUS_NOTFOUND = 1,	/* no: not allowed, not revoked... */
	BATON_STATUS_UNAVAIL = 2,	/* the source cannot answer */
	BATON_STATUS_TRYAGAIN = 3	/* busy: ask again later */
};

/* One lookup; size first so fields can be added. */
struct baton_query {
	uint32_t		 size;		/* sizeof(struct baton_query) */
	enum baton_database	 db;
	const char		*agent;		/* AGENTS */
	uint32_t		 uid;		/* AGENTS: the peer's */
	const char		*exe;		/* AGENTS: "" when unknown */
	const char		*cgroup;	/* AGENTS: "" when unknown */
	const uint8_t		(*jtis)[16];	/* REVOCATION, REPLAY */
	const uint64_t		*exps;		/* REPLAY, writes: keep until */
	size_t			 njtis;
	/*
	 * Added later: read only when size covers it (BATON_HAS).  The jti
	 * of block 0 of the chain these jtis belong to (for a call token,
	 * of the token it was presented from), so a store can keep one
	 * chain's entries together; NULL when unknown (a bare jti revoked).
	 */
	const uint8_t		*root;
};

/* Does the struct at p, which starts with its size, hold field f? */
#define BATON_HAS(p, f)	((p)->size >= offsetof(__typeof__(*(p)), f) + \
			    sizeof((p)->f))

/* One decision, opaque: read it through the host table. */
struct baton_decision;

/*
 * What the broker offers a module.  Strings returned are NUL-terminated
 * and borrowed; NULL means "not part of this decision".
 */
struct baton_host {
	uint32_t	 size;		/* sizeof(struct baton_host) */
	uint32_t	 abi;		/* BATON_MODULE_ABI */

	/* services */
	void		(*log)(enum baton_log_level, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
	uint64_t	(*now)(void);		/* unix seconds */
	uint64_t	(*clock_usec)(void);	/* monotonic microseconds */

	/* the decision */
	enum baton_phase (*phase)(const struct baton_decision *);
	const char	*(*op)(const struct baton_decision *);
			    /* "mint", "attenuate", "present", "verify" */
	const char	*(*service)(const struct baton_decision *);
			    /* "issue", or the audience verified for */
	/*
	 * Issue: the kernel-checked agent minting, attenuating or presenting.
	 * Verify: the token's holder when it was presented, else the agent
	 * that wrote its last block.
	 */
	const char	*(*agent)(const struct baton_decision *);
	const char	*(*subject)(const struct baton_decision *);
	uint32_t	(*peer_uid)(const struct baton_decision *);
	const char	*(*peer_exe)(const struct baton_decision *);
	const char	*(*peer_cgroup)(const struct baton_decision *);
	/* verify: the call asked about; present: the call presented for */
	const char	*(*tool)(const struct baton_decision *);
	const char	*(*action)(const struct baton_decision *);
	const char	*(*audience)(const struct baton_decision *);
	size_t		(*nargs)(const struct baton_decision *);
	/* argument i as text (numbers in decimal, true or false); -1 past */
	int		(*arg)(const struct baton_decision *, size_t,
			    const char **name, const char **value);
	size_t		(*nusage)(const struct baton_decision *);
	int		(*usage)(const struct baton_decision *, size_t,
			    const char **name, uint64_t *value);

	/*
	 * The grant: at verify the token's effective grant; at issue the
	 * block about to be signed (inherited parts read from the parent).
	 */
	int		(*grant_wildcard)(const struct baton_decision *);
	size_t		(*grant_ntools)(const struct baton_decision *);
	const char	*(*grant_tool)(const struct baton_decision *, size_t);
	/* actions granted on tool: 1 any action, else 0 with the list */
	int		(*grant_actions)(const struct baton_decision *,
			    const char *tool, const char *const **actions,
			    size_t *nactions);
	/* the limit on tool: 0 with *max, -1 when there is none */
	int		(*grant_limit)(const struct baton_decision *,
			    const char *tool, const char *name, uint64_t *max);
	/* audiences: -1 when the token is not confined to any */
	int		(*grant_audiences)(const struct baton_decision *,
			    const char *const **aud, size_t *naud);
	uint64_t	(*lifetime)(const struct baton_decision *);
			    /* seconds from the last block's iat to exp */
	uint64_t	(*ttl)(const struct baton_decision *);
			    /* issue: the TTL asked for (0: parent's rest) */
	uint64_t	(*depth)(const struct baton_decision *);
			    /* delegations so far, counting this block */
	uint64_t	(*depth_left)(const struct baton_decision *);
			    /* further delegations the token allows */
	size_t		(*chain_len)(const struct baton_decision *);
	/* block i's writer (iss, then delegators) and jti (16 bytes) */
	const char	*(*chain_agent)(const struct baton_decision *, size_t);
	const uint8_t	*(*chain_jti)(const struct baton_decision *, size_t);

	/* observe only: the final answer and the new block's jti (or NULL) */
	int		(*allowed)(const struct baton_decision *);
	const char	*(*reason)(const struct baton_decision *);
	const char	*(*message)(const struct baton_decision *);
	const uint8_t	*(*new_jti)(const struct baton_decision *);

	/*
	 * Added later: use only when size covers them (BATON_HAS).
	 *
	 * setting: a baton.conf keyword the broker parsed and checked on a
	 * module's behalf ("redis-address"...), or "state-dir"; NULL when
	 * unset.  Borrowed until init returns: copy what you keep.
	 * count: bump one of the broker's source counters by name
	 * ("source_unavailable", "source_local_hits", "source_reconnects",
	 * "source_lost_state"); other names are ignored.
	 */
	const char	*(*setting)(const char *name);
	void		(*count)(const char *name);
};

/*
 * The descriptor.  init gets the stack line's arguments and may keep a
 * state pointer, handed back to every other hook; it returns 0, or -1
 * with a message in err (file and line are added by the broker).
 * authorize may write a reason (shown to the caller and in the audit
 * trail) into reason.  Any hook may be NULL: authorize NULL answers
 * IGNORE.  fini runs when the configuration holding the line goes away;
 * the object itself is never unloaded.
 */
struct baton_module {
	uint32_t	 magic;		/* BATON_MODULE_MAGIC */
	uint32_t	 abi;		/* BATON_MODULE_ABI */
	uint32_t	 size;		/* sizeof(struct baton_module) */
	const char	*name;
	int		(*init)(const struct baton_host *, int argc,
			    char *const *argv, void **state, char *err,
			    size_t errlen);
	enum baton_answer (*authorize)(void *state,
			    const struct baton_decision *, char *reason,
			    size_t reasonlen);
	void		(*observe)(void *state, const struct baton_decision *);
	enum baton_status (*lookup)(void *state, const struct baton_query *);
	void		(*fini)(void *state);

	/*
	 * Added later: a descriptor whose size stops before them has none
	 * (the broker treats them as NULL), so older modules load as before.
	 *
	 * update: a write.  REVOCATION: record every jti as revoked until
	 * exps[i]; SUCCESS only once the store acknowledged it, UNAVAIL (or
	 * TRYAGAIN) when it did not.  Sources without it are not written to.
	 * health: 0 when the source can answer, 1 when it cannot; a line
	 * for baton status in buf (no secrets).
	 * ack: an operator acknowledges a condition the source refuses to
	 * pass over alone (baton redis-ack): 0 with what was done in msg,
	 * -1 with why not.
	 */
	enum baton_status (*update)(void *state, const struct baton_query *);
	int		(*health)(void *state, char *buf, size_t len);
	int		(*ack)(void *state, char *msg, size_t len);
};

/* The descriptor's size before update, health and ack were added. */
#define BATON_MODULE_SIZE_1	offsetof(struct baton_module, update)

/* The one symbol a module exports. */
typedef const struct baton_module *(*baton_module_entry_fn)(void);

#if defined(__GNUC__)
#define BATON_MODULE_EXPORT	__attribute__((visibility("default")))
#else
#define BATON_MODULE_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* BATON_MODULE_H */
