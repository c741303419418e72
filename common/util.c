/* util.c: small helpers shared by the codec, the broker and the CLI. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
