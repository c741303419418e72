/*
 * module-host.c: the host table of baton-module(3): how a module reads a
 * decision without seeing struct decision, struct baton_token or any
 * other internal structure.  Each accessor answers for both phases; a
 * struct baton_decision * is a struct decision * the module cannot open.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "batond.h"

#define D(x)	((const struct decision *)(const void *)(x))

static int
is_verify(const struct decision *d)
{
	return (d->op == BATON_OP_VERIFY);
}

static void
host_log(enum baton_log_level level, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	switch (level) {
	case BATON_LOG_DEBUG:
		log_debug("module: %s", buf);
		break;
	case BATON_LOG_INFO:
		log_info("module: %s", buf);
		break;
	default:
		log_warnx("module: %s", buf);
		break;
	}
}

static uint64_t
host_now(void)
{
	return (clock_now());
}

static enum baton_phase
host_phase(const struct baton_decision *x)
{
	return (is_verify(D(x)) ? BATON_PHASE_VERIFY : BATON_PHASE_ISSUE);
}

static const char *
host_op(const struct baton_decision *x)
{
	return (baton_op_name(D(x)->op));
}

static const char *
host_service(const struct baton_decision *x)
{
	return (D(x)->service);
}

/* Who wrote block i: iss for the root, the delegator after it. */
static const char *
writer(const struct baton_token *tok, size_t i)
{
	return (i == 0 ? tok->blocks[0].iss : tok->blocks[i].delegator);
}

static const char *
host_agent(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (!is_verify(d))
		return (d->agent);
	if (d->eff != NULL && d->eff->presented && d->eff->holder != NULL)
		return (d->eff->holder);
	if (d->tok == NULL || d->tok->nblocks == 0)
		return (NULL);
	return (writer(d->tok, d->tok->nblocks - 1));
}

static const char *
host_subject(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (d->tok != NULL && d->tok->nblocks > 0)
		return (d->tok->blocks[0].sub);
	if (d->block != NULL)
		return (d->block->sub);
	return (NULL);
}

static uint32_t
host_peer_uid(const struct baton_decision *x)
{
	return ((uint32_t)D(x)->peer->uid);
}

static const char *
host_peer_exe(const struct baton_decision *x)
{
	return (D(x)->peer->exe);
}

static const char *
host_peer_cgroup(const struct baton_decision *x)
{
	return (D(x)->peer->cgroup);
}

static const char *
host_tool(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (is_verify(d))
		return (d->req != NULL ? d->req->tool : NULL);
	return (d->tool);
}

static const char *
host_action(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (is_verify(d))
		return (d->req != NULL ? d->req->action : NULL);
	return (d->action);
}

static const char *
host_audience(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (is_verify(d))
		return (d->req != NULL ? d->req->audience : NULL);
	return (d->aud1);
}

static size_t
host_nargs(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	return (is_verify(d) && d->req != NULL ? d->req->nargs : 0);
}

static int
host_arg(const struct baton_decision *x, size_t i, const char **name,
    const char **value)
{
	static __thread char		 num[32];
	const struct decision		*d = D(x);
	const struct baton_value	*v;

	if (i >= host_nargs(x))
		return (-1);
	*name = d->req->args[i].name;
	v = &d->req->args[i].value;
	switch (v->type) {
	case BATON_V_STR:
		*value = v->s;
		break;
	case BATON_V_BOOL:
		*value = v->i ? "true" : "false";
		break;
	default:
		snprintf(num, sizeof num, "%lld", (long long)v->i);
		*value = num;
		break;
	}
	return (0);
}

static size_t
host_nusage(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	return (is_verify(d) && d->req != NULL ? d->req->nusage : 0);
}

static int
host_usage(const struct baton_decision *x, size_t i, const char **name,
    uint64_t *value)
{
	const struct decision	*d = D(x);

	if (i >= host_nusage(x))
		return (-1);
	*name = d->req->usage[i].name;
	*value = d->req->usage[i].value;
	return (0);
}

/* Issue time: the block's own grants, or NULL when it inherits them. */
static const struct baton_grants *
own_grants(const struct decision *d)
{
	if (is_verify(d) || d->block == NULL || !d->block->has_grants)
		return (NULL);
	return (&d->block->grants);
}

static int
host_grant_wildcard(const struct baton_decision *x)
{
	const struct decision		*d = D(x);
	const struct baton_grants	*g = own_grants(d);

	if (g != NULL)
		return (g->wildcard);
	return (d->eff != NULL && d->eff->wildcard);
}

static size_t
host_grant_ntools(const struct baton_decision *x)
{
	const struct decision		*d = D(x);
	const struct baton_grants	*g = own_grants(d);

	if (g != NULL)
		return (g->wildcard ? 0 : g->ntools);
	if (d->eff == NULL || d->eff->wildcard)
		return (0);
	return (d->eff->ntools);
}

static const char *
host_grant_tool(const struct baton_decision *x, size_t i)
{
	const struct decision		*d = D(x);
	const struct baton_grants	*g = own_grants(d);

	if (i >= host_grant_ntools(x))
		return (NULL);
	return (g != NULL ? g->tools[i].tool : d->eff->tools[i]);
}

static const struct baton_toolgrant *
own_toolgrant(const struct decision *d, const char *tool)
{
	const struct baton_grants	*g = own_grants(d);
	size_t				 i;

	if (g == NULL || g->wildcard)
		return (NULL);
	for (i = 0; i < g->ntools; i++)
		if (strcmp(g->tools[i].tool, tool) == 0)
			return (&g->tools[i]);
	return (NULL);
}

/* The token's facts for tool (verify: cached for the tool asked about). */
static int
token_facts(const struct decision *d, const char *tool,
    struct baton_tool_facts *tf)
{
	if (d->tf != NULL && d->req != NULL && strcmp(d->req->tool, tool) == 0) {
		*tf = *d->tf;
		return (0);
	}
	if (d->tok == NULL ||
	    baton_tool_facts(d->tok, tool, tf) != BATON_R_OK)
		return (-1);
	return (0);
}

static int
host_grant_actions(const struct baton_decision *x, const char *tool,
    const char *const **actions, size_t *n)
{
	const struct decision		*d = D(x);
	const struct baton_grants	*g = own_grants(d);
	const struct baton_toolgrant	*tg;
	struct baton_tool_facts		 tf;

	*actions = NULL;
	*n = 0;
	if (g != NULL) {
		if (g->wildcard)
			return (1);
		if ((tg = own_toolgrant(d, tool)) == NULL)
			return (0);
		*actions = (const char *const *)tg->actions;
		*n = tg->nactions;
		return (tg->nactions == 0);
	}
	if (token_facts(d, tool, &tf) != 0)
		return (0);
	*actions = (const char *const *)tf.actions;
	*n = tf.nactions;
	return (tf.any_action);
}

static int
host_grant_limit(const struct baton_decision *x, const char *tool,
    const char *name, uint64_t *max)
{
	const struct decision		*d = D(x);
	const struct baton_toolgrant	*tg;
	struct baton_tool_facts		 tf;
	size_t				 i;
	int				 found = -1;

	/* A child's own limit, else the one it inherits. */
	if ((tg = own_toolgrant(d, tool)) != NULL)
		for (i = 0; i < tg->nlimits; i++)
			if (strcmp(tg->limits[i].name, name) == 0) {
				*max = tg->limits[i].max;
				found = 0;
			}
	if (d->tok != NULL && token_facts(d, tool, &tf) == 0)
		for (i = 0; i < tf.nlimits; i++)
			if (strcmp(tf.limits[i].name, name) == 0 &&
			    (found != 0 || tf.limits[i].max < *max)) {
				*max = tf.limits[i].max;
				found = 0;
			}
	return (found);
}

static int
host_grant_audiences(const struct baton_decision *x, const char *const **aud,
    size_t *n)
{
	const struct decision	*d = D(x);

	if (!is_verify(d) && d->block != NULL && d->block->has_aud) {
		*aud = (const char *const *)d->block->aud;
		*n = d->block->naud;
		return (0);
	}
	if (d->eff != NULL && d->eff->has_aud) {
		*aud = (const char *const *)d->eff->aud;
		*n = d->eff->naud;
		return (0);
	}
	*aud = NULL;
	*n = 0;
	return (-1);
}

static uint64_t
host_lifetime(const struct baton_decision *x)
{
	const struct decision	*d = D(x);
	uint64_t		 exp, iat;

	if (!is_verify(d) && d->block != NULL) {
		exp = d->block->exp;
		if (d->eff != NULL && d->eff->exp < exp)
			exp = d->eff->exp;
		iat = d->block->iat;
	} else if (d->eff != NULL && d->tok != NULL && d->tok->nblocks > 0) {
		exp = d->eff->exp;
		iat = d->tok->blocks[d->tok->nblocks - 1].iat;
	} else
		return (0);
	return (exp > iat ? exp - iat : 0);
}

static uint64_t
host_ttl(const struct baton_decision *x)
{
	return (D(x)->ttl);
}

static uint64_t
host_depth(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (d->tok == NULL)
		return (0);
	return (is_verify(d) ? d->tok->nblocks - 1 : d->tok->nblocks);
}

static uint64_t
host_depth_left(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	if (!is_verify(d) && d->block != NULL) {
		if (d->block->has_max_depth)
			return (d->block->max_depth);
		if (d->eff != NULL && d->eff->depth_left > 0)
			return (d->eff->depth_left - 1);
		return (0);
	}
	return (d->eff != NULL ? d->eff->depth_left : 0);
}

static size_t
host_chain_len(const struct baton_decision *x)
{
	const struct decision	*d = D(x);
	size_t			 n = d->tok != NULL ? d->tok->nblocks : 0;

	if (!is_verify(d) && d->block != NULL)
		n++;
	return (n);
}

static const char *
host_chain_agent(const struct baton_decision *x, size_t i)
{
	const struct decision	*d = D(x);
	size_t			 n = d->tok != NULL ? d->tok->nblocks : 0;

	if (i < n)
		return (writer(d->tok, i));
	if (i == n && !is_verify(d) && d->block != NULL)
		return (d->agent);
	return (NULL);
}

static const uint8_t *
host_chain_jti(const struct baton_decision *x, size_t i)
{
	const struct decision	*d = D(x);
	size_t			 n = d->tok != NULL ? d->tok->nblocks : 0;

	if (i < n)
		return (d->tok->blocks[i].jti);
	if (i == n && !is_verify(d) && d->block != NULL && d->jti != NULL)
		return (d->jti);
	return (NULL);
}

static int
host_allowed(const struct baton_decision *x)
{
	return (D(x)->reason == BATON_R_OK);
}

static const char *
host_reason(const struct baton_decision *x)
{
	return (baton_reason_name(D(x)->reason));
}

static const char *
host_message(const struct baton_decision *x)
{
	const struct decision	*d = D(x);

	return (d->why != NULL && d->why[0] != '\0' ? d->why : NULL);
}

static const uint8_t *
host_new_jti(const struct baton_decision *x)
{
	return (D(x)->jti);
}

/*
 * The configuration sources.conf's modules are being started for: set by
 * stacks_load around their init, on the thread loading them.
 */
static __thread const struct config *settings_cfg;

void
module_settings_begin(const struct config *cfg)
{
	settings_cfg = cfg;
}

void
module_settings_end(void)
{
	settings_cfg = NULL;
}

static const char *
host_setting(const char *name)
{
	const struct config	*cfg = settings_cfg;
	size_t			 i;

	if (cfg == NULL || name == NULL)
		return (NULL);
	if (strcmp(name, "state-dir") == 0)
		return (cfg->state_dir);
	for (i = 0; i < cfg->nsettings; i++)
		if (strcmp(cfg->settings[i].name, name) == 0)
			return (cfg->settings[i].value);
	return (NULL);
}

static void
host_count(const char *name)
{
	/* Only the source counters: a module cannot forge "verified". */
	if (name != NULL && strncmp(name, "source_", 7) == 0)
		metrics_count(name);
}

const struct baton_host module_host = {
	.size = sizeof(struct baton_host),
	.abi = BATON_MODULE_ABI,
	.log = host_log,
	.now = host_now,
	.clock_usec = clock_usec,
	.phase = host_phase,
	.op = host_op,
	.service = host_service,
	.agent = host_agent,
	.subject = host_subject,
	.peer_uid = host_peer_uid,
	.peer_exe = host_peer_exe,
	.peer_cgroup = host_peer_cgroup,
	.tool = host_tool,
	.action = host_action,
	.audience = host_audience,
	.nargs = host_nargs,
	.arg = host_arg,
	.nusage = host_nusage,
	.usage = host_usage,
	.grant_wildcard = host_grant_wildcard,
	.grant_ntools = host_grant_ntools,
	.grant_tool = host_grant_tool,
	.grant_actions = host_grant_actions,
	.grant_limit = host_grant_limit,
	.grant_audiences = host_grant_audiences,
	.lifetime = host_lifetime,
	.ttl = host_ttl,
	.depth = host_depth,
	.depth_left = host_depth_left,
	.chain_len = host_chain_len,
	.chain_agent = host_chain_agent,
	.chain_jti = host_chain_jti,
	.allowed = host_allowed,
	.reason = host_reason,
	.message = host_message,
	.new_jti = host_new_jti,
	.setting = host_setting,
	.count = host_count,
};
