/*
 * hooks.c: the two seams of the decision path (DESIGN.md sections 3, 4).
 *
 * authorize() is where the PAM-style stacks (verify.d/SERVICE and
 * issue.d/default, stack.c) attach: it runs after the core checks, which
 * no stack can configure away, and before single-use jtis are consumed.
 * Without a stack for the decision the hook answers IGNORE and the
 * request continues, as it did before modules existed.
 *
 * observe() runs the decision observers after the answer is decided, for
 * verify and for issuance (mint, attenuate, present), allowed or refused:
 * metrics, a log line that names jtis (never a token), and the observe
 * hooks of the modules on the decision's stack (audit).
 */

#include <stdio.h>
#include <string.h>

#include "batond.h"

enum authz_result (*authorize_hook)(const struct decision *) =
    stacks_authorize;

/* Append s to buf (of size len) with a comma, quietly cut when full. */
static void
join(char *buf, size_t len, const char *s)
{
	size_t	n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "," : "", s);
}

/*
 * What the issue-time seam hands a policy module, at debug level: proof
 * the fields are there, and what an operator writing rules needs to see.
 */
static void
authorize_debug(const struct decision *d)
{
	const struct baton_block	*b = d->block;
	char				 tools[256] = "", actions[256] = "";
	char				 aud[256] = "";
	size_t				 i, k;

	if (!log_debugging())
		return;		/* the lists cost more than the decision */
	if (b->grants.wildcard)
		join(tools, sizeof tools, "*");
	else if (!b->has_grants)
		join(tools, sizeof tools, "inherit");
	for (i = 0; b->has_grants && i < b->grants.ntools; i++) {
		join(tools, sizeof tools, b->grants.tools[i].tool);
		for (k = 0; k < b->grants.tools[i].nactions; k++)
			join(actions, sizeof actions,
			    b->grants.tools[i].actions[k]);
	}
	for (i = 0; b->has_aud && i < b->naud; i++)
		join(aud, sizeof aud, b->aud[i]);
	log_debug("authorize %s agent=%s ttl=%llu tools=%s actions=%s aud=%s "
	    "restriction=%s", baton_op_name(d->op),
	    d->agent != NULL ? d->agent : "-", (unsigned long long)d->ttl,
	    tools[0] != '\0' ? tools : "-", actions[0] != '\0' ? actions : "-",
	    aud[0] != '\0' ? aud : "-", d->restriction != NULL ? "yes" : "no");
}

/* BATON_R_OK to continue, else the reason to deny with. */
int
authorize(const struct decision *d)
{
	enum authz_result	r;
	uint64_t		t0 = clock_usec();

	if (d->block != NULL)
		authorize_debug(d);
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

static int
is_issue(int op)
{
	return (op == BATON_OP_MINT || op == BATON_OP_ATTENUATE ||
	    op == BATON_OP_PRESENT);
}

/*
 * Issuance: op, the new jti, the parent's last jti, the agent acting (iss
 * for mint, delegator otherwise), the caller and the reason.  Jtis only:
 * a token in a log is a token anyone who reads the log can use.
 */
/* A log line built by appending, for the lines every request writes. */
struct line {
	char	buf[1024];
	size_t	len;
};

static void
line_add(struct line *l, const char *s)
{
	size_t	n = strlen(s);

	if (n > sizeof l->buf - 1 - l->len)
		n = sizeof l->buf - 1 - l->len;	/* as vsnprintf cuts */
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

/* v in decimal, as "%ld" or "%u" would write it */
static void
line_int(struct line *l, long long v)
{
	char			 digits[24], *p = digits + sizeof digits;
	unsigned long long	 u;

	u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	line_add(l, p);
}

static void
observe_log_issue(const struct decision *d)
{
	char		jti[BATON_JTI_LEN * 2 + 1] = "-";
	char		parent[BATON_JTI_LEN * 2 + 1] = "-";
	struct line	l;

	if (d->jti != NULL)
		baton_hex(jti, d->jti, BATON_JTI_LEN);
	if (d->tok != NULL && d->tok->nblocks > 0)
		baton_hex(parent, d->tok->blocks[d->tok->nblocks - 1].jti,
		    BATON_JTI_LEN);
	/* "%s %s jti=%s parent=%s %s=%s uid=%u pid=%ld reason=%s" */
	l.len = 0;
	line_add(&l, baton_op_name(d->op));
	line_add(&l, d->reason == BATON_R_OK ? " allow jti=" : " deny jti=");
	line_add(&l, jti);
	line_add(&l, " parent=");
	line_add(&l, parent);
	line_add(&l, d->op == BATON_OP_MINT ? " iss=" : " delegator=");
	line_add(&l, d->agent != NULL ? d->agent : "-");
	line_add(&l, " uid=");
	line_int(&l, (unsigned)d->peer->uid);
	line_add(&l, " pid=");
	line_int(&l, (long)d->peer->pid);
	line_add(&l, " reason=");
	line_add(&l, baton_reason_name(d->reason));
	log_info_str(l.buf);
}

static void
observe_log(const struct decision *d)
{
	char		 jti[BATON_JTI_LEN * 2 + 1] = "-";
	char		 lin[BATON_JTI_LEN * 2 + 16] = "";
	const char	*tool = "-";

	if (is_issue(d->op)) {
		observe_log_issue(d);
		return;
	}
	/* An allow is a debug line: nothing to format when not debugging. */
	if (d->reason == BATON_R_OK && !log_debugging())
		return;
	if (d->tok != NULL && d->tok->nblocks > 0)
		baton_hex(jti, d->tok->blocks[d->tok->nblocks - 1].jti,
		    BATON_JTI_LEN);
	if (d->req != NULL && d->req->tool != NULL)
		tool = d->req->tool;
	/* a call token's lineage, which the tool server never sees */
	if (d->lineage != NULL && d->lineage->n > 0) {
		memcpy(lin, " parent=", 8);
		baton_hex(lin + 8, d->lineage->jti[d->lineage->n - 1],
		    BATON_JTI_LEN);
	}
	if (d->reason == BATON_R_OK)
		log_debug("%s allow jti=%s%s tool=%s uid=%u pid=%ld",
		    baton_op_name(d->op), jti, lin, tool,
		    (unsigned)d->peer->uid, (long)d->peer->pid);
	else
		log_info("%s deny %s jti=%s%s tool=%s uid=%u pid=%ld",
		    baton_op_name(d->op), baton_reason_name(d->reason), jti,
		    lin, tool, (unsigned)d->peer->uid, (long)d->peer->pid);
}

static void
observe_metrics_issue(const struct decision *d)
{
	static const char *const done[] = {
		[BATON_OP_MINT] = "minted",
		[BATON_OP_ATTENUATE] = "attenuated",
		[BATON_OP_PRESENT] = "presented",
	};

	if (d->reason == BATON_R_OK)
		metrics_count(done[d->op]);
	else {
		metrics_count("issue_rejected");
		metrics_issue_reason(d->reason);
	}
	metrics_time(d->op == BATON_OP_MINT ? HIST_MINT : HIST_ISSUE, d->usec);
}

static void
observe_metrics(const struct decision *d)
{
	if (is_issue(d->op)) {
		observe_metrics_issue(d);
		return;
	}
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
	stacks_observe,
};

void
observe(const struct decision *d)
{
	size_t	i;

	for (i = 0; i < sizeof observers / sizeof observers[0]; i++)
		observers[i](d);
}
