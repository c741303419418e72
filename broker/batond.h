/* batond.h: the one internal header of the broker. */
#ifndef BATOND_H
#define BATOND_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common.h"
#include "wire.h"

#ifndef BATOND_STATE_DIR
#define BATOND_STATE_DIR	"/var/lib/baton"
#endif
#ifndef BATOND_SOCKET
#define BATOND_SOCKET		"/run/baton/batond.sock"
#endif
#ifndef BATOND_CONF
#define BATOND_CONF		"/etc/baton/baton.conf"
#endif

#define BATOND_LINE_MAX		1024	/* config and agents lines */
#define BATOND_BUDGET		16	/* requests per connection per event */
#define BATOND_OUT_MAX		65536	/* queued answer bytes before pausing */
#define BATOND_PEER_GROUPS	64	/* supplementary groups kept per peer */
#define BATOND_DEFAULT_TTL	3600
#define BATOND_DEFAULT_DEPTH	5
#define BATOND_LEEWAY		30	/* seconds of clock skew accepted */
#define BATOND_MAX_TTL_CEILING	(366 * 86400ULL)	/* highest max-ttl */
#define BATOND_MAX_VERIFY	16	/* audiences per agent line */
#define BATOND_RATE_LIMIT	1000	/* default signing and spending/s per uid */
#define BATOND_VERIFY_RATE_LIMIT 250000	/* default verifies etc./s per uid */
/*
 * Descriptors: two per connection (its socket and the peer's pidfd); the
 * rest is a fixed set (stdio, log, listener, journal, files open for a
 * moment: a /proc file, a key, a configuration) and six per worker (epoll,
 * libevent's signal pipe and eventfd, our notify pipe), with room to spare.
 */
#define BATOND_FD_PER_CONN	2
#define BATOND_FD_FIXED		32
#define BATOND_FD_PER_WORKER	8
#define BATOND_ACCEPT_PAUSE_MS	250	/* listener unwatched after a failure */
#define BATOND_JOURNAL_PER_UID	100000	/* default live journal entries per uid */
#define BATOND_COMPACT_INTERVAL	300	/* default seconds between compactions */
#define BATOND_TOKEN_CACHE	64	/* default token-cache, per worker */
#define BATOND_TOKEN_CACHE_MAX	4096
/*
 * Journal entries are forgotten only this long after their expiry.  While
 * running, expiry is judged on clock_forget, which no step moves; the
 * margin covers a wall clock already stepped forward at start (by less
 * than this), then corrected: it drops nothing live either.
 */
#define JOURNAL_MARGIN		(6 * 3600)
#define JOURNAL_COMPACT_NICE	19	/* the bulk of a compaction (journal.c) */

/* ---- configuration (config.c) ------------------------------------------ */

struct agent {
	char		*id;
	uid_t		 uid;
	char		*exe;		/* NULL: any executable */
	char		*cgroup;	/* NULL: any cgroup; else exact match */
	char		**verify;	/* audiences it may verify for */
	size_t		 nverify;
	unsigned	 line;		/* in the agents file, for messages */
};

struct agents {
	struct agent	*list;
	size_t		 n;
};

/* A keyword parsed and checked here for a module (host->setting). */
struct setting {
	char		*name;
	char		*value;
};

struct config {
	char		*path;		/* file it came from, or NULL */
	char		*socket_path;
	char		*state_dir;
	char		*agents_file;	/* NULL: development mode */
	int		 development_mode; /* "development-mode yes" */
	int		 allow_shared_uid; /* "allow-shared-uid yes" */
	char		*cgroup_root;	/* where cgroup v2 is mounted */
	struct agents	*agents;
	int		 has_admin_gid;
	gid_t		 admin_gid;
	unsigned	 max_conns;
	unsigned	 max_conns_per_uid;
	unsigned	 rate_limit;	/* per second per uid, 0 = none */
	unsigned	 verify_rate_limit; /* verifies and reads, the same */
	unsigned	 rate_burst;	/* bucket size; 0: one second's worth */
	unsigned	 idle_timeout;
	unsigned	 slow_timeout;	/* seconds for one whole frame */
	unsigned	 write_timeout;	/* seconds a peer may leave answers unread */
	uint64_t	 max_ttl;
	unsigned	 workers;
	unsigned	 token_cache;	/* opened tokens kept per worker; 0: off */
	unsigned	 journal_per_uid; /* live entries a uid may create; 0: any */
	unsigned	 compact_interval; /* seconds; read at start */
	int		 log_syslog;
	char		*stack_dir;	/* NULL: BATOND_STACK_DIR */
	int		 seccomp;	/* "seccomp yes": filter after start */
	char		*trusted_keys;	/* bundles of other brokers, or NULL */
	uint64_t	 bundle_validity; /* seconds a published bundle holds */
	struct stackset	*stacks;	/* loaded by stacks_load (stack.c) */
	struct setting	*settings;	/* module keywords (redis-*), checked */
	size_t		 nsettings;
};

struct config	*config_default(void);
struct config	*config_load(const char *, char **);
int		 config_parse(struct config *, const char *, size_t, const char *,
		     char **);
struct agents	*agents_load(const char *, char **);
int		 agents_parse(struct agents *, const char *, size_t, const char *,
		     char **);
void		 agents_free(struct agents *);
int		 agents_check(const struct config *, char **);
void		 config_free(struct config *);

/* ---- logging (log.c) ---------------------------------------------------- */

void	log_open(int, int);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
int	log_debugging(void);	/* would log_debug write? */
void	log_info_str(const char *);	/* log_info("%s", s), faster */
/* At most one line a second per key (a short name), then a count held back. */
void	log_info_limited(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx_limited(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

/* ---- identity (identity.c) ---------------------------------------------- */

struct peer {
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	int		 pidfd;		/* -1 when the kernel has none */
	int		 pinned;	/* /proc facts checked against the pidfd */
	int		 ngroups;	/* SO_PEERGROUPS; -1 when unknown */
	gid_t		 groups[BATOND_PEER_GROUPS];
	char		 exe[256];	/* "" when unknown */
	char		 cgroup[256];
};

int	peer_identify(int, struct peer *);
void	peer_release(struct peer *);
const char *cgroup_root_default(void);
int	cgroup_protected(const char *, const char *, uid_t, char *, size_t);

/* ---- lookup sources (source-files.c): the NSS-style seam ----------------- */

/* Who asks for a state change, and how many live entries it may hold. */
struct writer {
	uid_t		 uid;
	size_t		 cap;		/* 0: no cap (admins) */
};

/*
 * Identity and state lookups go through this table so other sources
 * (NSS-style plugins, a shared Redis store) can replace the built-in
 * "files" one without touching the operations.  Each returns 0 or a
 * negative BATON_E* code; BATON_EUNAVAIL fails closed.
 */
struct source {
	const char	*name;
	/* may this peer act as agent? (0 yes, BATON_EDENIED no) */
	int	(*agent_allowed)(const struct config *, const struct peer *,
		    const char *);
	/* the agent a peer acts as by default, copied into buf */
	int	(*agent_default)(const struct config *, const struct peer *,
		    char *, size_t);
	/* may this peer verify for audience aud (NULL: any verify)? */
	int	(*verify_allowed)(const struct config *, const struct peer *,
		    const char *);
	/*
	 * revocation: is any of these jtis revoked?  1 yes, 0 no, or a
	 * negative BATON_E* when the source cannot tell: callers then deny
	 * with unavailable, never treat it as "not revoked".
	 */
	int	(*revoked)(const uint8_t (*)[BATON_JTI_LEN], size_t);
	/*
	 * State changes set *ticket: 0 when durable already, else the answer
	 * waits until journal_committed(ticket) (request.ticket).  Over the
	 * writer's cap: BATON_ETOOBIG with *cause.
	 */
	int	(*revoke)(const uint8_t *, uint64_t, const struct writer *,
		    uint64_t *, char **);
	/*
	 * replay: spend every jti atomically, or none (BATON_EDENIED when one
	 * was already spent).  root: block 0's jti of the chain they belong
	 * to (the parent's for a call token), so a shared store keeps them
	 * together.
	 */
	int	(*consume)(const uint8_t (*)[BATON_JTI_LEN], const uint64_t *,
		    size_t, const uint8_t *, const struct writer *, uint64_t *,
		    char **);
};

extern const struct source source_files;

/* ---- durable state (journal.c) ------------------------------------------ */

#define JOURNAL_REVOKE	1
#define JOURNAL_SPENT	2

int	journal_open(const char *, char **);
/* Start the commit thread; notify runs on it, locked, after each sync. */
void	journal_start(void (*)(void));
void	journal_set_notify(void (*)(void));
void	journal_close(void);
int	journal_has(int, const uint8_t *);
int	journal_has_any(int, const uint8_t (*)[BATON_JTI_LEN], size_t);
int	journal_add(int, const uint8_t (*)[BATON_JTI_LEN], const uint64_t *,
	    size_t, int, const struct writer *, uint64_t *, char **);
int	journal_committed(uint64_t);
int	journal_compact(char **);
void	journal_compact_start(void);
int	journal_health(char *, size_t);
void	journal_counts(size_t *, size_t *);

/* ---- keys (keystore.c) -------------------------------------------------- */

int	keystore_open(const char *, uint64_t, char **);
int	keystore_rotate(uint64_t, int, uint8_t *, size_t *, char **);
/* Pack [{kid, created, not_after, signing}...] of the keyring. */
void	keystore_pack(msgpack_packer *);
void	keystore_close(void);
/* The keyring, read-locked for as long as it is used. */
const struct baton_keyring *keystore_lock(void);
/* The same, with the ring's generation: it changes whenever the ring does. */
const struct baton_keyring *keystore_lock_gen(uint64_t *);
void	keystore_unlock(void);
int	keystore_trust(struct baton_keyring *, char **, char **);

/* ---- trusted keys of other brokers (trust.c) ---------------------------- */

#define BATOND_BUNDLE_MAX	(64 * 1024)	/* bytes in one bundle file */
#define BATOND_BUNDLE_VALIDITY	(7 * 86400ULL)	/* default bundle-validity */

int	trust_load(const struct config *, char **);

/* ---- metrics (metrics.c) ------------------------------------------------ */

enum metric_hist { HIST_MINT, HIST_VERIFY, HIST_POLICY, HIST_ISSUE, HIST_MAX };

void	metrics_op(int, int);
void	metrics_reason(int);
void	metrics_issue_reason(int);
void	metrics_count(const char *);
void	metrics_token_cache(int hit);	/* by index: the hot path */
void	metrics_time(enum metric_hist, uint64_t);
void	metrics_pack(msgpack_packer *);
void	metrics_pack_histograms(msgpack_packer *);
char	*metrics_prometheus(void);
uint64_t clock_usec(void);

/* ---- the wall clock (clock.c) ------------------------------------------- */

uint64_t clock_now(void);	/* seconds, for decisions: never runs back */
uint64_t clock_forget(void);	/* seconds, for forgetting: never jumps */
uint64_t clock_behind(void);	/* seconds the wall clock is behind */

/* ---- the broker --------------------------------------------------------- */

struct broker {
	pthread_rwlock_t	 lock;		/* cfg */
	struct config		*cfg;
	const struct source	*src;
	uid_t			 uid;
	time_t			 started;
	volatile int		 draining;
	int			 sandboxed;	/* seccomp filter in force */
	unsigned		 nconns;	/* under conns_lock */
	pthread_mutex_t		 conns_lock;
};

extern struct broker broker;

struct config *broker_config(void);	/* read-locks; pair with _release */
void	broker_config_release(void);
int	broker_reload(char **);
int	broker_is_admin(const struct config *, const struct peer *);

/* ---- requests and operations -------------------------------------------- */

struct conn;

struct request {
	struct conn		*conn;
	const struct peer	*peer;
	uint32_t		 op;
	uint32_t		 id;
	struct mpr		 body;		/* positioned at the body map */
	uint64_t		 now;
	msgpack_sbuffer		 sb;		/* the answer frame */
	msgpack_packer		 pk;
	int			 status;
	char			*errmsg;
	int			 reason;	/* for denied: reason code, or -1 */
	uint64_t		 ticket;	/* answer once this is on disk */
};

struct op_entry {
	uint32_t	 op;
	const char	*name;
	int		 admin;		/* root or admin group only */
	/*
	 * Pack the success body (a map) into r->pk, or set an error with
	 * req_error and return -1.
	 */
	int		(*exec)(struct request *);
};

extern const struct op_entry op_hello_entry;
extern const struct op_entry op_mint_entry;
extern const struct op_entry op_attenuate_entry;
extern const struct op_entry op_present_entry;
extern const struct op_entry op_verify_entry;
extern const struct op_entry op_revoke_entry;
extern const struct op_entry op_inspect_entry;
extern const struct op_entry op_pubkeys_entry;
extern const struct op_entry op_status_entry;
extern const struct op_entry op_rotate_entry;
extern const struct op_entry op_reload_entry;
extern const struct op_entry op_source_ack_entry;

int	req_error(struct request *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	req_deny(struct request *, int);
int	req_deny_msg(struct request *, int, const char *);
void	req_begin(struct request *);	/* start the success answer */
void	request_run(struct request *);
int	rate_take(const char *, unsigned);	/* reads the clock itself */
int	rate_charge(struct request *, int);	/* batond.c: RATE_* */
#define RATE_COSTLY	0	/* signs, or grows durable state */
#define RATE_VERIFY	1	/* verify and the other reads */
int	rate_take_burst(const char *, unsigned, unsigned);

/* ---- request bodies (body.c) -------------------------------------------- */

/* A parsed request body: every known field, pointers into the frame. */
struct body {
	struct baton_arena	*arena;
	const char		*token;
	size_t			 tokenlen;
	const char		*as;
	const char		*sub;
	const char		*tool;
	const char		*action;
	const char		*aud1;		/* verify, present: one audience */
	const char		*holder;
	const char		*format;
	const char		*source;	/* source-ack */
	int			 has_ttl, has_nbf, has_max_depth, has_block;
	int			 has_version;
	uint64_t		 ttl, nbf, max_depth, block, version;
	int			 has_single_use, single_use;
	int			 now;		/* rotate: distrust old keys now */
	int			 minimal;	/* present: a call token */
	const char		**disclose;	/* with minimal: "iss", ... */
	size_t			 ndisclose;
	int			 explain;	/* verify: a dry run, traced */
	int			 has_grants;
	struct baton_grants	 grants;
	int			 has_aud;
	const char		**aud;
	size_t			 naud;
	struct baton_kv		*ctx;
	size_t			 nctx;
	struct baton_arg	*args;
	size_t			 nargs;
	struct baton_usage	*usage;
	size_t			 nusage;
	const uint8_t		*jti;
	/* last: the short strings, copied here rather than into the arena */
	size_t			 strused;
	char			 strbuf[320];
};

int	body_parse(struct body *, struct mpr *, char **);
void	body_free(struct body *);

/*
 * Pure steps from a parsed body (no I/O, locks or keys): the identity
 * has been checked by the caller.  Each returns 0; -1 for a malformed
 * request with *cause malloc'd (the caller frees it); or a reason,
 * above 0, to refuse with.  The block or restriction points into the
 * body (and *tg), so it lives no longer than they do.  The ttl (asked
 * for or defaulted) is set even on failure, for the audit record;
 * body_root_block leaves the jti zero for the caller to fill.
 */
int	body_root_block(struct baton_block *, uint64_t *ttl, struct body *,
	    const char *iss, uint64_t now, uint64_t max_ttl, char **cause);
int	body_restriction(struct baton_restrict *, struct baton_toolgrant *tg,
	    struct body *, enum baton_block_kind, char **cause);
void	pack_grants(msgpack_packer *, const struct baton_grants *);
void	pack_strs(msgpack_packer *, const char *const *, size_t);
void	pack_ctx(msgpack_packer *, const struct baton_kv *, size_t);
void	pack_reason(msgpack_packer *, const char *, enum baton_reason);
void	pack_facts(msgpack_packer *, const struct baton_token *,
	    const struct baton_effective *, const struct baton_tool_facts *);
void	pack_verify_answer(msgpack_packer *, enum baton_reason,
	    const char *message, const struct baton_token *,
	    const struct baton_effective *, const struct baton_tool_facts *,
	    size_t nexplain);
/*
 * Each worker's cache of opened tokens (tokcache.c).  tokcache_open opens
 * text with the tag check as baton_token_open does, and lends the token
 * through ref->tok (NULL unless BATON_R_OK), read-only: from this thread's
 * cache, or opened into ref->own.  What the request allocates in the
 * token's arena (baton_effective...) is wiped at tokcache_release, which
 * must come before this thread opens another token through the cache
 * (one release per open; safe after a failed open too).  size is the
 * token-cache setting.
 */
struct tokentry;
struct tokref {
	const struct baton_token *tok;
	struct tokentry		*ent;	/* lent from the cache, or NULL */
	int			 owned;	/* tok is own */
	struct baton_token	 own;	/* last: zeroing the rest is enough */
};
enum baton_reason tokcache_open(struct tokref *, const char *, size_t,
	    unsigned size);
void	tokcache_release(struct tokref *);
void	tokcache_thread_end(void);	/* wipe and free this thread's */
int	token_read(struct request *, const struct body *, struct baton_token *);
/* The same through this worker's token cache; tokcache_release it. */
int	token_read_cached(struct request *, const struct body *,
	    struct tokref *);
int	identity_resolve(struct request *, const char *, char *, size_t);
size_t	token_jtis(const struct baton_token *, uint8_t (*)[BATON_JTI_LEN]);
int	token_revoked(const struct baton_token *);
int	issue_reply(struct request *, const struct baton_token *,
	    const struct baton_block *, uint64_t);
int	issue_child(struct request *, enum baton_block_kind);
int	issue_call(struct request *, const struct baton_token *,
	    const struct baton_effective *, const struct baton_block *,
	    const struct body *, const char *);

/* ---- seams (hooks.c): the authorize stack and decision observers -------- */

enum authz_result { AUTHZ_OK, AUTHZ_DENY, AUTHZ_IGNORE, AUTHZ_ERROR };

/*
 * What the authorize stack and the decision observers see of one decision.
 *
 * verify: tok is the presented token (NULL when it did not decode), req the
 * tool server's request.
 *
 * mint, attenuate, present (service "issue"): the issue-time seam.  A
 * policy module (allow / deny rules on agent, tool and action, with
 * per-rule caps on TTL and limits) finds here everything it rules on,
 * before anything is signed:
 *   agent	the kernel-checked iss (mint) or delegator (attenuate, present)
 *   block	the block about to be signed: grants, aud, exp, max_depth,
 *		single_use, holder, ctx (for a child, what the broker computed
 *		from the restriction: grants absent = inherited)
 *   ttl	the lifetime asked for, in seconds (0: the parent's remainder)
 *   tok	attenuate and present: the verified parent token
 *   restriction attenuate and present: the restriction as requested
 *   tool, action, aud1  present: the one call being presented for
 * A module denies by answering AUTHZ_DENY; it never widens (the core
 * already refused a widening child).  For observers, reason is the final
 * reason and jti the new block's jti (NULL when nothing was issued, e.g. a
 * refusal before the block was built).  Pointers are borrowed for the
 * call only.
 */
struct decision {
	const char			*service;	/* "issue", or verify's aud */
	int				 op;
	const struct peer		*peer;
	const char			*agent;
	const struct baton_token	*tok;
	const struct baton_request	*req;
	const struct baton_block	*block;
	const struct baton_restrict	*restriction;
	uint64_t			 ttl;
	const char			*tool;
	const char			*action;
	const char			*aud1;
	const uint8_t			*jti;
	/* a call token's opened lineage (verify), for audit only */
	const struct baton_lineage	*lineage;
	int				 reason;
	uint64_t			 usec;
	/* verify: the token's effective grant and facts for req->tool;
	 * attenuate, present: the parent's effective grant */
	const struct baton_effective	*eff;
	const struct baton_tool_facts	*tf;
	char				*why;	/* the stack's deny message */
	size_t				 whylen;
	struct trace			*trace;	/* explain: what each line said */
	int				 dry_run; /* explain: no consume, no audit */
};

/*
 * Where the authorize stack (verify.d/SERVICE, issue.d/default) attaches:
 * stacks_authorize, which answers IGNORE (continue) when no stack applies.
 */
extern enum authz_result (*authorize_hook)(const struct decision *);
int	authorize(const struct decision *);
void	observe(const struct decision *);

/* ---- modules and stacks (module-loader.c, module-host.c, stack.c) ------ */

#include <baton/module.h>

struct module {
	const char		*name;
	struct baton_module	 desc;
};

struct trace {
	char		**lines;
	size_t		  n;
};

const char	*module_dir(void);
int		 module_name_ok(const char *);
const struct module *module_load(const char *, char **);
void	 module_forbid_spawn(int);	/* refuse modules that spawn */
extern const struct baton_host module_host;
void		 module_settings_begin(const struct config *);
void		 module_settings_end(void);

/* sources.conf: one chain of sources per database (sources.c). */
#define SRC_NDB		4	/* indexed by enum baton_database */
struct src_item {
	const struct module	*mod;		/* NULL: the built-in files */
	void			*state;
	int			 inited;
	unsigned char		 action[4];	/* by status: 1 return */
};
struct src_chain {
	struct src_item		*items;
	size_t			 n;
	int			 configured;
};

int	 sources_load(int, struct src_chain *, char **);
void	 sources_free(struct src_chain *);
enum baton_status sources_resolve(const struct src_chain *,
	    const struct baton_query *,
	    enum baton_status (*)(const struct baton_query *, void *), void *);
extern const struct source source_switch;

/* What each module source says of itself (status, metrics). */
#define SRC_HEALTH_MAX	16
struct src_health {
	const char	*db;		/* "revocation"... */
	const char	*source;	/* the module's name */
	int		 up;		/* 1 can answer, 0 cannot */
	char		 text[256];
};
size_t	 sources_health(struct src_health *, size_t);
/* Hand an operator's acknowledgement to every source named name. */
int	 sources_ack(const char *, char *, size_t);
/* Write to every source of db's chain that takes writes. */
enum baton_status sources_update(const struct src_chain *,
	    const struct baton_query *,
	    enum baton_status (*)(const struct baton_query *, void *), void *);

struct stackset;
int	 stack_file_safe(int);
const struct src_chain *stacks_sources(const struct stackset *,
	    enum baton_database);
int	 stacks_load(struct config *, char **);
struct stackset *stacks_acquire(void);
void	 stacks_release(struct stackset *);
enum authz_result stacks_authorize(const struct decision *);
void	 stacks_observe(const struct decision *);
void	 trace_add(struct trace *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 trace_free(struct trace *);

/* ---- seccomp (sandbox.c) ------------------------------------------------ */

int	sandbox_install(char **);
#ifdef BATOND_TEST_BUILD
void	sandbox_test_forbidden(const char *);
#endif

/* ---- server (server.c) -------------------------------------------------- */

int	server_start(unsigned);
int	server_accept(int);	/* -1: stop watching the listener a while */
void	server_drain(void);
void	server_wait(void);
int	listen_socket(const char *, char **);
int	listen_systemd(char **);

#endif /* BATOND_H */
