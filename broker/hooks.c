/*
 * hooks.c: the two seams of the decision path (DESIGN.md sections 3, 4).
 *
 * authorize() is where the PAM-style stacks (verify.d/SERVICE and
 * issue.d/default) attach: it runs after the core checks, which no stack
 * can configure away, and before single-use jtis are consumed.  No module
 * exists yet, so the hook answers IGNORE and the request continues.
 *
 * observe() runs the decision observers after the answer is decided: the
 * audit modules will join the list; today it holds metrics and a log line
 * that names the jti, never the token.
 */

#include <stdio.h>

#include "batond.h"

static enum authz_result
authorize_none(const struct decision *d)
{
	(void)d;
	return (AUTHZ_IGNORE);
}

enum authz_result (*authorize_hook)(const struct decision *) = authorize_none;

/* BATON_R_OK to continue, else the reason to deny with. */
int
authorize(const struct decision *d)
{
	enum authz_result	r;
	uint64_t		t0 = clock_usec();

	r = authorize_hook(d);
	metrics_count("policy_evaluated");
	metrics_time(HIST_POLICY, clock_usec() - t0);
	switch (r) {
	case AUTHZ_OK:
	case AUTHZ_IGNORE:
		return (BATON_R_OK);
	case AUTHZ_DENY:
		return (BATON_R_POLICY_DENIED);
	case AUTHZ_ERROR:
		break;
	}
	return (BATON_R_UNAVAILABLE);
}

static void
observe_log(const struct decision *d)
{
	char		 jti[BATON_JTI_LEN * 2 + 1] = "-";
	const char	*tool = "-";

	if (d->tok != NULL && d->tok->nblocks > 0)
		baton_hex(jti, d->tok->blocks[d->tok->nblocks - 1].jti,
		    BATON_JTI_LEN);
	if (d->req != NULL && d->req->tool != NULL)
		tool = d->req->tool;
	if (d->reason == BATON_R_OK)
		log_debug("%s allow jti=%s tool=%s uid=%u pid=%ld",
		    baton_op_name(d->op), jti, tool, (unsigned)d->peer->uid,
		    (long)d->peer->pid);
	else
		log_info("%s deny %s jti=%s tool=%s uid=%u pid=%ld",
		    baton_op_name(d->op), baton_reason_name(d->reason), jti,
		    tool, (unsigned)d->peer->uid, (long)d->peer->pid);
}

static void
observe_metrics(const struct decision *d)
{
	if (d->op != BATON_OP_VERIFY)
		return;
	if (d->reason == BATON_R_OK)
		metrics_count("verified");
	else {
		metrics_count("rejected");
		metrics_reason(d->reason);
		if (d->reason == BATON_R_REPLAYED)
			metrics_count("replay_detected");
	}
	metrics_time(HIST_VERIFY, d->usec);
}

static void (*const observers[])(const struct decision *) = {
	observe_metrics,
	observe_log,
};

void
observe(const struct decision *d)
{
	size_t	i;

	for (i = 0; i < sizeof observers / sizeof observers[0]; i++)
		observers[i](d);
}
