/*
 * baton/types.h: error codes and decision reasons shared by every baton
 * library and by the broker's wire protocol.  The numeric values are part of
 * the protocol and the ABI: never renumber, only append.
 */
#ifndef BATON_TYPES_H
#define BATON_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Function results: 0, or one of these negative codes. */
#define BATON_OK		0
#define BATON_ENOMEM		(-1)	/* out of memory */
#define BATON_EINVAL		(-2)	/* invalid argument from the caller */
#define BATON_EMALFORMED	(-3)	/* malformed token, frame or file */
#define BATON_EDENIED		(-4)	/* a decision said no; see the reason */
#define BATON_EIO		(-5)	/* system call failed; see errno */
#define BATON_ETIMEOUT		(-6)	/* the call did not finish in time */
#define BATON_EUNAVAIL		(-7)	/* broker or source unavailable */
#define BATON_EPROTO		(-8)	/* peer broke the wire protocol */
#define BATON_ETOOBIG		(-9)	/* input over a size limit */
#define BATON_ENOKEY		(-10)	/* no usable key */
#define BATON_EPERM		(-11)	/* caller not permitted */

/*
 * Decision reasons.  BATON_R_OK is the only reason that allows.  Every deny
 * names exactly one reason: the first check that failed, in the order
 * documented in doc/TOKEN.md.
 */
enum baton_reason {
	BATON_R_OK = 0,

	/* envelope and text form */
	BATON_R_BAD_PREFIX = 1,		/* text does not start with "bt1_" */
	BATON_R_BAD_BASE64 = 2,		/* not canonical unpadded base64url */
	BATON_R_TOO_LARGE = 3,		/* token or payload over its size cap */
	BATON_R_MALFORMED = 4,		/* envelope structure or types wrong */
	BATON_R_TRAILING_BYTES = 5,	/* bytes after the envelope */
	BATON_R_UNKNOWN_FORMAT = 6,	/* envelope fmt is not 1 */
	BATON_R_CHAIN_TOO_LONG = 7,	/* more than 16 blocks, or none */

	/* cryptography */
	BATON_R_UNKNOWN_KEY = 10,	/* kid names no trusted key */
	BATON_R_BAD_SIGNATURE = 11,	/* signature (and tag) do not hold */
	BATON_R_KEY_RETIRED = 12,	/* the key is retired, or outlived */
	BATON_R_BAD_SEAL = 13,		/* a call token's lineage does not open */

	/* strict payload decode */
	BATON_R_BAD_PAYLOAD = 20,	/* payload structure or types wrong */
	BATON_R_UNKNOWN_VERSION = 21,	/* payload version is not 1 */
	BATON_R_UNKNOWN_CRITICAL = 22,	/* unknown field that must be understood */

	/* time */
	BATON_R_NOT_YET_VALID = 30,
	BATON_R_EXPIRED = 31,

	/* chain rules */
	BATON_R_DEPTH_EXCEEDED = 40,	/* a block's max_depth is exceeded */
	BATON_R_BAD_CHAIN = 41,		/* blocks inconsistent with each other */

	/* request binding */
	BATON_R_TOOL_NOT_GRANTED = 50,
	BATON_R_ACTION_NOT_GRANTED = 51,
	BATON_R_AUDIENCE_MISMATCH = 52,
	BATON_R_ARGUMENT_REJECTED = 53,
	BATON_R_LIMIT_EXCEEDED = 54,
	BATON_R_NOT_PRESENTED = 55,	/* holder-bound token used directly */
	BATON_R_HOLDER_MISMATCH = 56,	/* caller is not the bound holder */

	/* attenuation refusals */
	BATON_R_TTL_TOO_LONG = 60,
	BATON_R_WIDEN_TOOL = 61,
	BATON_R_WIDEN_ACTION = 62,
	BATON_R_WIDEN_LIMIT = 63,
	BATON_R_WIDEN_AUDIENCE = 64,
	BATON_R_WIDEN_DEPTH = 65,
	BATON_R_NO_DEPTH_LEFT = 66,
	BATON_R_ALREADY_PRESENTED = 67,	/* presented tokens cannot be extended */
	BATON_R_BAD_RESTRICTION = 68,	/* the requested restriction is invalid */

	/* broker state and policy */
	BATON_R_REVOKED = 70,
	BATON_R_REPLAYED = 71,		/* single-use jti already spent */
	BATON_R_POLICY_DENIED = 72,	/* the authorize stack said no */
	BATON_R_IDENTITY_DENIED = 73,	/* caller may not act as that agent */
	BATON_R_RATE_LIMITED = 74,
	BATON_R_UNAVAILABLE = 75	/* a state source failed closed */
};

#define BATON_R_MAX 75

/* Exported from the shared libraries although common/ builds hidden. */
#if defined(__GNUC__) && !defined(BATON_EXTERN)
#define BATON_EXTERN	__attribute__((visibility("default")))
#elif !defined(BATON_EXTERN)
#define BATON_EXTERN
#endif

/* Stable lower-case name of a reason ("expired"), or "unknown". */
BATON_EXTERN const char *baton_reason_name(int reason);

/* One-line English description of a reason. */
BATON_EXTERN const char *baton_reason_text(int reason);

/* One-line English description of a BATON_E* code. */
BATON_EXTERN const char *baton_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* BATON_TYPES_H */
