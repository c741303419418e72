/* util.c: small helpers shared by the codec, the broker and the CLI. */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "common.h"

/* Lower-case hex; out must hold 2 * len + 1 bytes. */
void
baton_hex(char *out, const uint8_t *in, size_t len)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Strict: in must be exactly 2 * outlen hex digits and nothing else (no
 * spaces, no "0x"), so a jti or kid given on a command line means one
 * thing only.  out is untouched on error.
 */
int
baton_unhex(uint8_t *out, size_t outlen, const char *in)
{
	size_t	i;
	int	hi, lo;

	if (out == NULL || in == NULL || outlen > SIZE_MAX / 2)
		return (BATON_EINVAL);
	if (strnlen(in, 2 * outlen + 1) != 2 * outlen)
		return (BATON_EINVAL);
	for (i = 0; i < 2 * outlen; i++) {
		if (hexval(in[i]) < 0)
			return (BATON_EINVAL);
	}
	for (i = 0; i < outlen; i++) {
		hi = hexval(in[2 * i]);
		lo = hexval(in[2 * i + 1]);
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	return (0);
}

/*
 * Fresh jtis from a per-thread pool of randombytes_buf output, refilled
 * JTI_POOL at a time: one getrandom call per mint was one syscall in six.
 * The bytes are the same CSPRNG's as before, and a jti's bytes leave the
 * pool wiped as they are handed out, so memory holds at most the next few
 * (whoever reads the broker's memory has its keys anyway).  A forked
 * child must not hand out its parent's next jtis: a fork handler empties
 * the pool in the child (only the forking thread lives on there, and
 * only its pool is reachable).  posix_spawn runs no code of ours in its
 * child, and the broker's workers cannot fork at all.
 */
#define JTI_POOL	16

static _Thread_local uint8_t	jti_pool[JTI_POOL][BATON_JTI_LEN];
static _Thread_local unsigned	jti_left;
static pthread_once_t		jti_once = PTHREAD_ONCE_INIT;

static void
jti_forked(void)
{
	sodium_memzero(jti_pool, sizeof jti_pool);
	jti_left = 0;
}

static void
jti_at_fork(void)
{
	(void)pthread_atfork(NULL, NULL, jti_forked);
}

void
baton_jti_new(uint8_t jti[BATON_JTI_LEN])
{
	if (jti_left == 0) {
		/* the handler is in place before the pool holds anything */
		(void)pthread_once(&jti_once, jti_at_fork);
		randombytes_buf(jti_pool, sizeof jti_pool);
		jti_left = JTI_POOL;
	}
	jti_left--;
	memcpy(jti, jti_pool[jti_left], BATON_JTI_LEN);
	sodium_memzero(jti_pool[jti_left], BATON_JTI_LEN);
}
