/* grantset.c: grant sets built by callers and packed into wire requests. */

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "wire.h"
#include "client.h"
#include "grantset.h"

#define GS_MAX_ITEMS	256	/* far above what a 4 KiB payload can carry */

/* The set owns the strings that struct baton_value holds as const. */
static void
val_free(struct baton_value *v)
{
	free((void *)(uintptr_t)v->s);
}

static void
pred_free(struct baton_pred *p)
{
	size_t	i;

	for (i = 0; i < p->nvals; i++)
		val_free(&p->vals[i]);
	free(p->vals);
}

static void
tool_free(struct gs_tool *t)
{
	size_t	i;

	free(t->tool);
	for (i = 0; i < t->nactions; i++)
		free(t->actions[i]);
	free(t->actions);
	for (i = 0; i < t->nlimits; i++)
		free(t->limits[i].name);
	free(t->limits);
	for (i = 0; i < t->nwhere; i++) {
		free(t->where[i].arg);
		pred_free(&t->where[i].pred);
	}
	free(t->where);
}

int
baton_grantset_new(struct baton_grantset **out)
{
	if (out == NULL)
		return BATON_EINVAL;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return BATON_ENOMEM;
	return 0;
}

void
baton_grantset_free(struct baton_grantset *gs)
{
	size_t	i;

	if (gs == NULL)
		return;
	for (i = 0; i < gs->ntools; i++)
		tool_free(&gs->tools[i]);
	free(gs->tools);
	for (i = 0; i < gs->naud; i++)
		free(gs->aud[i]);
	free(gs->aud);
	for (i = 0; i < gs->nctx; i++) {
		free(gs->ctx[i].key);
		free(gs->ctx[i].value);
	}
	free(gs->ctx);
	free(gs);
}

/* Grow an array by one element; 0 or BATON_ENOMEM. */
static int
grow(void **arr, size_t n, size_t size)
{
	void	*p;

	if (n >= GS_MAX_ITEMS)
		return BATON_ETOOBIG;
	if ((p = reallocarray(*arr, n + 1, size)) == NULL)
		return BATON_ENOMEM;
	memset((char *)p + n * size, 0, size);
	*arr = p;
	return 0;
}

/* Names: printable, no spaces, not empty; tools and limits alike. */
static int
valid_name(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return 0;
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			return 0;
	return 1;
}

static int
valid_action(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

static struct gs_tool *
find_tool(struct baton_grantset *gs, const char *tool)
{
	size_t	i;

	for (i = 0; i < gs->ntools; i++)
		if (strcmp(gs->tools[i].tool, tool) == 0)
			return &gs->tools[i];
	return NULL;
}

static int
get_tool(struct baton_grantset *gs, const char *tool, struct gs_tool **out)
{
	struct gs_tool	*t;
	int		 ret;

	if (!valid_name(tool))
		return BATON_EINVAL;
	if (strcmp(tool, "*") == 0)
		return BATON_EINVAL;
	if ((t = find_tool(gs, tool)) == NULL) {
		if ((ret = grow((void **)&gs->tools, gs->ntools,
		    sizeof(*gs->tools))) != 0)
			return ret;
		t = &gs->tools[gs->ntools];
		if ((t->tool = strdup(tool)) == NULL)
			return BATON_ENOMEM;
		gs->ntools++;
	}
	*out = t;
	return 0;
}

static int
add_action(struct gs_tool *t, const char *a, size_t len)
{
	size_t	i;
	int	ret;

	for (i = 0; i < t->nactions; i++)
		if (strlen(t->actions[i]) == len &&
		    memcmp(t->actions[i], a, len) == 0)
			return 0;
	if ((ret = grow((void **)&t->actions, t->nactions,
	    sizeof(*t->actions))) != 0)
		return ret;
	if ((t->actions[t->nactions] = strndup(a, len)) == NULL)
		return BATON_ENOMEM;
	t->nactions++;
	return 0;
}

int
baton_grantset_add_tool(struct baton_grantset *gs, const char *tool,
    const char *actions)
{
	struct gs_tool	*t;
	const char	*p, *comma;
	size_t		 len;
	int		 ret;

	if (gs == NULL || tool == NULL)
		return BATON_EINVAL;
	if (strcmp(tool, "*") == 0) {
		if (actions != NULL && *actions != '\0')
			return BATON_EINVAL;
		gs->wildcard = 1;
		return 0;
	}
	/* validate every action before changing anything */
	if (actions != NULL && *actions != '\0' &&
	    actions[strlen(actions) - 1] == ',')
		return BATON_EINVAL;
	for (p = actions; p != NULL && *p != '\0'; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!valid_action(p, len))
			return BATON_EINVAL;
		if (comma == NULL)
			break;
	}
	if ((ret = get_tool(gs, tool, &t)) != 0)
		return ret;
	if (actions == NULL || *actions == '\0') {
		/* any action: the union with anything is anything */
		t->any_action = 1;
		return 0;
	}
	for (p = actions; *p != '\0'; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if ((ret = add_action(t, p, len)) != 0)
			return ret;
		if (comma == NULL)
			break;
	}
	return 0;
}

int
baton_grantset_add_limit(struct baton_grantset *gs, const char *tool,
    const char *name, uint64_t max)
{
	struct gs_tool	*t;
	size_t		 i;
	int		 ret;

	if (gs == NULL || !valid_name(name))
		return BATON_EINVAL;
	if ((ret = get_tool(gs, tool, &t)) != 0)
		return ret;
	for (i = 0; i < t->nlimits; i++) {
		if (strcmp(t->limits[i].name, name) == 0) {
			/* asking twice means the tighter one */
			if (max < t->limits[i].max)
				t->limits[i].max = max;
			return 0;
		}
	}
	if ((ret = grow((void **)&t->limits, t->nlimits,
	    sizeof(*t->limits))) != 0)
		return ret;
	if ((t->limits[t->nlimits].name = strdup(name)) == NULL)
		return BATON_ENOMEM;
	t->limits[t->nlimits].max = max;
	t->nlimits++;
	return 0;
}

static int
parse_i64(const char *s, size_t len, int64_t *out)
{
	char	 buf[32], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!(isdigit((unsigned char)buf[0]) ||
	    (buf[0] == '-' && isdigit((unsigned char)buf[1]))))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
gs_parse_value(struct baton_value *v, const char *s, size_t len)
{
	memset(v, 0, sizeof(*v));
	if (memchr(s, '\0', len) != NULL)
		return BATON_EINVAL;
	if (parse_i64(s, len, &v->i) == 0) {
		v->type = BATON_V_INT;
		return 0;
	}
	if (len == 4 && memcmp(s, "true", 4) == 0) {
		v->type = BATON_V_BOOL;
		v->i = 1;
		return 0;
	}
	if (len == 5 && memcmp(s, "false", 5) == 0) {
		v->type = BATON_V_BOOL;
		return 0;
	}
	v->type = BATON_V_STR;
	if ((v->s = strndup(s, len)) == NULL)
		return BATON_ENOMEM;
	v->len = len;
	return 0;
}

int
gs_parse_pred(struct baton_pred *p, const char *text)
{
	const char	*colon, *arg, *dots, *comma;
	size_t		 oplen, len;
	int64_t		 n;
	int		 ret;

	memset(p, 0, sizeof(*p));
	if (text == NULL || (colon = strchr(text, ':')) == NULL)
		return BATON_EINVAL;
	oplen = (size_t)(colon - text);
	arg = colon + 1;
#define OPIS(s) (oplen == strlen(s) && memcmp(text, s, oplen) == 0)
	if (OPIS("eq")) {
		p->op = BATON_P_EQ;
	} else if (OPIS("in")) {
		p->op = BATON_P_IN;
	} else if (OPIS("prefix")) {
		p->op = BATON_P_PREFIX;
	} else if (OPIS("glob")) {
		p->op = BATON_P_GLOB;
	} else if (OPIS("range")) {
		p->op = BATON_P_RANGE;
		if ((dots = strstr(arg, "..")) == NULL ||
		    parse_i64(arg, (size_t)(dots - arg), &p->lo) != 0 ||
		    parse_i64(dots + 2, strlen(dots + 2), &p->hi) != 0 ||
		    p->lo > p->hi)
			return BATON_EINVAL;
		return 0;
	} else if (OPIS("maxlen")) {
		p->op = BATON_P_MAXLEN;
		if (parse_i64(arg, strlen(arg), &n) != 0 || n < 0)
			return BATON_EINVAL;
		p->maxlen = (uint64_t)n;
		return 0;
	} else
		return BATON_EINVAL;
#undef OPIS
	if (p->op != BATON_P_IN) {
		if ((p->vals = calloc(1, sizeof(*p->vals))) == NULL)
			return BATON_ENOMEM;
		p->nvals = 1;
		if (p->op == BATON_P_EQ)
			return gs_parse_value(&p->vals[0], arg, strlen(arg));
		/* prefix and glob patterns are always strings */
		p->vals[0].type = BATON_V_STR;
		if ((p->vals[0].s = strdup(arg)) == NULL)
			return BATON_ENOMEM;
		p->vals[0].len = strlen(arg);
		return 0;
	}
	if (*arg == '\0')
		return BATON_EINVAL;
	for (;;) {
		comma = strchr(arg, ',');
		len = comma != NULL ? (size_t)(comma - arg) : strlen(arg);
		if ((ret = grow((void **)&p->vals, p->nvals,
		    sizeof(*p->vals))) != 0)
			return ret;
		if ((ret = gs_parse_value(&p->vals[p->nvals], arg, len)) != 0)
			return ret;
		p->nvals++;
		if (comma == NULL)
			break;
		arg = comma + 1;
	}
	return 0;
}

int
baton_grantset_add_where(struct baton_grantset *gs, const char *tool,
    const char *arg, const char *predtext)
{
	struct gs_tool		*t;
	struct baton_pred	 pred;
	int			 ret;

	if (gs == NULL || !valid_name(arg))
		return BATON_EINVAL;
	if ((ret = gs_parse_pred(&pred, predtext)) != 0) {
		pred_free(&pred);
		return ret;
	}
	if ((ret = get_tool(gs, tool, &t)) != 0 ||
	    (ret = grow((void **)&t->where, t->nwhere,
	    sizeof(*t->where))) != 0) {
		pred_free(&pred);
		return ret;
	}
	if ((t->where[t->nwhere].arg = strdup(arg)) == NULL) {
		pred_free(&pred);
		return BATON_ENOMEM;
	}
	t->where[t->nwhere].pred = pred;
	t->nwhere++;
	return 0;
}

int
baton_grantset_add_audience(struct baton_grantset *gs, const char *aud)
{
	size_t	i;
	int	ret;

	if (gs == NULL || !valid_name(aud))
		return BATON_EINVAL;
	for (i = 0; i < gs->naud; i++)
		if (strcmp(gs->aud[i], aud) == 0)
			return 0;
	if ((ret = grow((void **)&gs->aud, gs->naud, sizeof(*gs->aud))) != 0)
		return ret;
	if ((gs->aud[gs->naud] = strdup(aud)) == NULL)
		return BATON_ENOMEM;
	gs->naud++;
	return 0;
}

int
baton_grantset_add_ctx(struct baton_grantset *gs, const char *key,
    const char *value)
{
	size_t	i;
	int	ret;
	char	*v;

	if (gs == NULL || !valid_name(key) || value == NULL)
		return BATON_EINVAL;
	for (i = 0; i < gs->nctx; i++) {
		if (strcmp(gs->ctx[i].key, key) == 0) {
			if ((v = strdup(value)) == NULL)
				return BATON_ENOMEM;
			free(gs->ctx[i].value);
			gs->ctx[i].value = v;
			return 0;
		}
	}
	if ((ret = grow((void **)&gs->ctx, gs->nctx, sizeof(*gs->ctx))) != 0)
		return ret;
	gs->ctx[gs->nctx].key = strdup(key);
	gs->ctx[gs->nctx].value = strdup(value);
	if (gs->ctx[gs->nctx].key == NULL || gs->ctx[gs->nctx].value == NULL) {
		free(gs->ctx[gs->nctx].key);
		free(gs->ctx[gs->nctx].value);
		return BATON_ENOMEM;
	}
	gs->nctx++;
	return 0;
}

/* ---- packing ------------------------------------------------------------ */

/* How many distinct args does a tool constrain, in first-seen order? */
static size_t
count_args(const struct gs_tool *t)
{
	size_t	i, j, n = 0;

	for (i = 0; i < t->nwhere; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(t->where[i].arg, t->where[j].arg) == 0)
				break;
		if (j == i)
			n++;
	}
	return n;
}

static void
pack_tool(msgpack_packer *pk, const struct gs_tool *t)
{
	size_t	i, j, k, n, nf = 0;

	nf += !t->any_action && t->nactions > 0;
	nf += t->nlimits > 0;
	nf += t->nwhere > 0;
	msgpack_pack_map(pk, nf);
	if (!t->any_action && t->nactions > 0) {
		baton_pack_str(pk, "actions");
		msgpack_pack_array(pk, t->nactions);
		for (i = 0; i < t->nactions; i++)
			baton_pack_str(pk, t->actions[i]);
	}
	if (t->nlimits > 0) {
		baton_pack_str(pk, "limits");
		msgpack_pack_map(pk, t->nlimits);
		for (i = 0; i < t->nlimits; i++) {
			baton_pack_str(pk, t->limits[i].name);
			msgpack_pack_uint64(pk, t->limits[i].max);
		}
	}
	if (t->nwhere > 0) {
		baton_pack_str(pk, "where");
		msgpack_pack_map(pk, count_args(t));
		for (i = 0; i < t->nwhere; i++) {
			for (j = 0; j < i; j++)
				if (strcmp(t->where[i].arg,
				    t->where[j].arg) == 0)
					break;
			if (j < i)
				continue;	/* packed with its first */
			for (n = 0, k = i; k < t->nwhere; k++)
				n += strcmp(t->where[k].arg,
				    t->where[i].arg) == 0;
			baton_pack_str(pk, t->where[i].arg);
			msgpack_pack_array(pk, n);
			for (k = i; k < t->nwhere; k++)
				if (strcmp(t->where[k].arg,
				    t->where[i].arg) == 0)
					baton_wire_pack_pred(pk,
					    &t->where[k].pred);
		}
	}
}

int
gs_pack_grants(msgpack_packer *pk, const struct baton_grantset *gs)
{
	size_t	i;

	if (gs->wildcard) {
		if (gs->ntools > 0)
			return BATON_EINVAL;
		baton_pack_str(pk, "*");
		return 0;
	}
	msgpack_pack_map(pk, gs->ntools);
	for (i = 0; i < gs->ntools; i++) {
		baton_pack_str(pk, gs->tools[i].tool);
		pack_tool(pk, &gs->tools[i]);
	}
	return 0;
}

void
gs_pack_aud(msgpack_packer *pk, const struct baton_grantset *gs)
{
	size_t	i;

	msgpack_pack_array(pk, gs->naud);
	for (i = 0; i < gs->naud; i++)
		baton_pack_str(pk, gs->aud[i]);
}

void
gs_pack_ctx(msgpack_packer *pk, const struct baton_grantset *gs)
{
	size_t	i;

	msgpack_pack_map(pk, gs->nctx);
	for (i = 0; i < gs->nctx; i++) {
		baton_pack_str(pk, gs->ctx[i].key);
		baton_pack_str(pk, gs->ctx[i].value);
	}
}
