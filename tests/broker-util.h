/* broker-util.h: start a real batond in a temp dir and talk raw frames. */
#ifndef BROKER_UTIL_H
#define BROKER_UTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common.h"
#include "wire.h"

struct tb {
	pid_t	pid;
	char	dir[256];
	char	sock[300];
	char	state[300];
	char	conf[300];
	char	agents[300];
	char	log[300];
	int	use_conf;
	long	fsize_limit;	/* >0: RLIMIT_FSIZE of the broker, in bytes */
	int	fsize_signal;	/* with it: SIGXFSZ left as it is, not ignored */
	long	nofile_limit;	/* >0: RLIMIT_NOFILE (soft and hard) of it */
	long	nofile_hard;	/* >0: a higher hard limit than that */
	const char *preload;	/* LD_PRELOAD for the broker, or NULL */
	const char *binary;	/* NULL: BATOND_PATH */
	int	daemonize;	/* run without -f: tb_launch sees it exit 0 */
	uid_t	run_uid;	/* >0: the broker runs as this uid (and gid) */
};

/* A temp dir; conf and agents texts are written when not NULL. */
void	tb_init(struct tb *, const char *conf, const char *agents);
/* Start batond; 0 once the socket answers, else its exit status or -1. */
int	tb_launch(struct tb *);
/* SIGTERM and wait: the exit status, or -1 if it did not exit cleanly. */
int	tb_stop(struct tb *);
void	tb_kill9(struct tb *);
void	tb_cleanup(struct tb *);
int	tb_log_has(struct tb *, const char *);
int	tb_connect(struct tb *);

struct msg {
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
};

/* [op, id, {n entries...}]: pack the entries with the pk_* helpers. */
void	msg_start(struct msg *, int op, uint32_t id, size_t n);
int	msg_send(int fd, struct msg *);	/* finishes, sends, destroys */
void	pk_str(msgpack_packer *, const char *);
void	pk_kv_str(msgpack_packer *, const char *, const char *);
void	pk_kv_uint(msgpack_packer *, const char *, uint64_t);
void	pk_kv_bool(msgpack_packer *, const char *, int);
int	send_raw(int fd, const void *, size_t);

struct resp {
	uint8_t		*buf;
	size_t		 len;
	uint32_t	 op, id;
	int		 status;
	struct mpr	 body;	/* at the body map */
};

/* One response frame, 5 s timeout; -1 on EOF, error or timeout. */
int	resp_read(int fd, struct resp *);
void	resp_free(struct resp *);
/* Position *out at the value of key in the map at *m; 0 if found. */
int	map_get(const struct mpr *m, const char *key, struct mpr *out);
int	get_str(const struct mpr *m, const char *key, char *buf, size_t len);
uint64_t get_uint(const struct mpr *m, const char *key);
int	get_bool(const struct mpr *m, const char *key);

/* Short cuts over one connection; they fail the test on transport errors. */
int	rpc(int fd, struct msg *, struct resp *);
char	*tb_mint(int fd, const char *as, const char *grants_tool,
	    const char *action, uint64_t limit, uint64_t ttl, int single_use,
	    const char *holder);
int	tb_verify(int fd, const char *token, const char *tool,
	    const char *action, const char *aud, struct resp *);

#endif
