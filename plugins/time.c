/*
 * time.c: baton_time(8), pam_time's job: OK within the given days and
 * hours, DENY outside them.
 *
 *	time days=Mon-Fri hours=09:00-17:30[,...] [utc]
 *
 * A window whose end is before its start crosses midnight and belongs
 * to the day it starts on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <baton/module.h>

#define TIME_WINDOWS	8

struct window {
	int	from, to;	/* minutes after midnight, to exclusive */
};

struct timemod {
	const struct baton_host	*host;
	unsigned		 days;		/* bit 0 Sunday .. bit 6 */
	struct window		 w[TIME_WINDOWS];
	size_t			 nw;
	int			 utc;
};

static const char *const day_names[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

static int
day_of(const char *s, size_t len)
{
	int	d;

	for (d = 0; d < 7; d++)
		if (len == 3 && strncasecmp(s, day_names[d], 3) == 0)
			return (d);
	return (-1);
}

/* Mon,Wed,Fri-Sun: ranges wrap over the week's end. */
static int
parse_days(struct timemod *t, const char *s)
{
	const char	*p = s, *comma, *dash;
	int		 a, b;

	if (strcmp(s, "all") == 0) {
		t->days = 0x7f;
		return (0);
	}
	while (*p != '\0') {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		dash = memchr(p, '-', (size_t)(comma - p));
		if (dash == NULL) {
			if ((a = day_of(p, (size_t)(comma - p))) == -1)
				return (-1);
			b = a;
		} else if ((a = day_of(p, (size_t)(dash - p))) == -1 ||
		    (b = day_of(dash + 1, (size_t)(comma - dash - 1))) == -1)
			return (-1);
		for (;; a = (a + 1) % 7) {
			t->days |= 1U << a;
			if (a == b)
				break;
		}
		p = *comma == ',' ? comma + 1 : comma;
		if (*comma == ',' && *p == '\0')
			return (-1);
	}
	return (t->days != 0 ? 0 : -1);
}

static int
parse_hhmm(const char *s, int *out)
{
	if (strlen(s) < 5 || s[0] < '0' || s[0] > '2' || s[1] < '0' ||
	    s[1] > '9' || s[2] != ':' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return (-1);
	*out = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	    (s[4] - '0');
	/* 24:00 ends a day; nothing later exists. */
	return (*out > 24 * 60 ? -1 : 0);
}

static int
parse_hours(struct timemod *t, const char *s)
{
	const char	*p = s;

	while (*p != '\0') {
		if (t->nw == TIME_WINDOWS)
			return (-1);
		if (parse_hhmm(p, &t->w[t->nw].from) != 0 || p[5] != '-' ||
		    parse_hhmm(p + 6, &t->w[t->nw].to) != 0 ||
		    t->w[t->nw].from == t->w[t->nw].to ||
		    t->w[t->nw].from == 24 * 60 ||
		    (p[11] != '\0' && p[11] != ','))
			return (-1);
		t->nw++;
		p += 11;
		if (*p == ',' && *++p == '\0')
			return (-1);
	}
	return (t->nw > 0 ? 0 : -1);
}

static int
time_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct timemod	*t;
	int		 i;

	if ((t = calloc(1, sizeof *t)) == NULL)
		abort();
	t->host = host;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "days=", 5) == 0 && t->days == 0) {
			if (parse_days(t, argv[i] + 5) != 0)
				goto bad;
		} else if (strncmp(argv[i], "hours=", 6) == 0 && t->nw == 0) {
			if (parse_hours(t, argv[i] + 6) != 0)
				goto bad;
		} else if (strcmp(argv[i], "utc") == 0 && !t->utc)
			t->utc = 1;
		else
			goto bad;
	}
	if (t->days == 0 && t->nw == 0) {
		snprintf(err, errlen, "days= or hours= is required");
		free(t);
		return (-1);
	}
	if (t->days == 0)
		t->days = 0x7f;
	if (t->nw == 0) {
		t->w[0].from = 0;
		t->w[0].to = 24 * 60;
		t->nw = 1;
	}
	*state = t;
	return (0);
bad:
	snprintf(err, errlen, "bad or repeated argument \"%.64s\" (days=Mon-Fri"
	    " hours=HH:MM-HH:MM[,...] [utc])", argv[i]);
	free(t);
	return (-1);
}

static enum baton_answer
time_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	struct timemod	*t = state;
	struct tm	 tm;
	time_t		 now = (time_t)t->host->now();
	size_t		 i;
	int		 m, today, yesterday;

	(void)d;
	if ((t->utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) == NULL) {
		snprintf(reason, len, "cannot read the clock");
		return (BATON_ANSWER_ERROR);
	}
	m = tm.tm_hour * 60 + tm.tm_min;
	today = tm.tm_wday;
	yesterday = (today + 6) % 7;
	for (i = 0; i < t->nw; i++) {
		if (t->w[i].from < t->w[i].to) {
			if ((t->days & (1U << today)) && m >= t->w[i].from &&
			    m < t->w[i].to)
				return (BATON_ANSWER_OK);
		} else if (((t->days & (1U << today)) && m >= t->w[i].from) ||
		    ((t->days & (1U << yesterday)) && m < t->w[i].to))
			return (BATON_ANSWER_OK);
	}
	snprintf(reason, len, "outside the allowed days and hours (%s "
	    "%02d:%02d%s)", day_names[today], tm.tm_hour, tm.tm_min,
	    t->utc ? " UTC" : "");
	return (BATON_ANSWER_DENY);
}

static void
time_fini(void *state)
{
	free(state);
}

static const struct baton_module timemod = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "time",
	.init = time_init,
	.authorize = time_authorize,
	.fini = time_fini,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&timemod);
}
