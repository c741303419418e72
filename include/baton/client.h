/*
 * baton/client.h: the broker connection that libbaton-agent and
 * libbaton-verify share.  Included by baton/agent.h and baton/verify.h;
 * include one of those rather than this file.
 */
#ifndef BATON_CLIENT_API_H
#define BATON_CLIENT_API_H

#include <stddef.h>
#include <stdint.h>

#include <baton/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BATON_CHECK	__attribute__((warn_unused_result))
#else
#define BATON_CHECK
#endif

/* A connection to batond.  Opaque. */
struct baton_client;

#define BATON_CLIENT_OPTS_VERSION 1
struct baton_client_opts {
	unsigned int	 version;	/* BATON_CLIENT_OPTS_VERSION */
	/*
	 * Broker socket.  NULL: the BATON_SOCKET environment variable, else
	 * the build-time default (baton_default_socket()).
	 */
	const char	*socket_path;
	/* Per-call timeout in milliseconds; 0: 5000. */
	int		 timeout_ms;
	/* Sent in hello for the broker's logs; NULL: "libbaton". */
	const char	*client_name;
};
#define BATON_CLIENT_OPTS_INIT { BATON_CLIENT_OPTS_VERSION, NULL, 0, NULL }

/*
 * Connect to the broker and say hello.  opts may be NULL.  Returns 0 and a
 * handle in *out, or BATON_EUNAVAIL (no broker at that path), BATON_ETIMEOUT,
 * BATON_EPROTO (not a baton broker or an unsupported version),
 * BATON_ENOMEM, BATON_EINVAL.  Free the handle with baton_client_free().
 * A broken connection is reopened once, transparently, by the next call.
 * A request is sent again on the new connection only when the broker
 * cannot have acted on it, or acting twice is harmless (revoke, pubkeys,
 * status); otherwise the call fails with BATON_EUNAVAIL, since a repeated
 * verify could spend a single-use token twice.  The timeout bounds each
 * call as a whole: connecting, sending and receiving.
 */
BATON_EXTERN int baton_client_open(struct baton_client **out,
    const struct baton_client_opts *opts);

/* Close and free; NULL is fine. */
BATON_EXTERN void baton_client_free(struct baton_client *c);

/* The socket path the handle uses; borrowed from the handle. */
BATON_EXTERN const char *baton_client_socket(const struct baton_client *c);

/*
 * The broker's explanation of the last failed call on this handle (an
 * English sentence), or "" when there is none.  Borrowed; valid until the
 * next call on the handle.
 */
BATON_EXTERN const char *baton_client_last_error(const struct baton_client *c);

/*
 * The decision reason (enum baton_reason) of the last call on this handle
 * that the broker refused with BATON_EDENIED; BATON_R_OK otherwise.
 */
BATON_EXTERN int baton_client_last_reason(const struct baton_client *c);

/* The build-time default socket path; a static string. */
BATON_EXTERN const char *baton_default_socket(void);

/* Library version, e.g. "0.1.0"; a static string. */
BATON_EXTERN const char *baton_version(void);

#ifdef __cplusplus
}
#endif
#endif /* BATON_CLIENT_API_H */
