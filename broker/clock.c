/*
 * clock.c: the broker's two views of the wall clock.
 *
 * Decisions (iat, nbf, exp, the time module) read clock_now: the wall
 * clock, except that it never runs backwards.  A step forward is followed
 * at once.  After a step back the broker's time goes on from where it
 * was, at half the speed of the monotonic clock, until the wall clock
 * catches up (twice the step later): a token once expired stays expired,
 * and a token minted meanwhile lives at most twice its TTL.
 *
 * Forgetting (journal entries, retired keys) reads clock_forget: the wall
 * clock at start plus the monotonic time since, and never more than
 * clock_now.  A step forward while running, corrected later, makes the
 * broker forget nothing early; journal entries also keep JOURNAL_MARGIN
 * (batond.h) against a clock that was already wrong at start.
 *
 * A test build (-DBATOND_TEST_BUILD) adds to the wall clock the whole
 * seconds written in the file BATON_TEST_CLOCK names, read at each call,
 * so tests can step it.  The installed batond never reads that variable.
 */

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "batond.h"

static struct {
	pthread_mutex_t	 lock;
	int		 started;
	uint64_t	 start_wall;	/* us */
	uint64_t	 start_mono;	/* us */
	uint64_t	 last;		/* broker time, us */
	uint64_t	 last_mono;	/* us */
	uint64_t	 behind;	/* wall behind broker time, us */
	int		 slewing;	/* since a step back */
	uint64_t	 slew_from;	/* broker time then, us */
	uint64_t	 slew_mono;	/* monotonic time then, us */
} c = { .lock = PTHREAD_MUTEX_INITIALIZER };

#ifdef BATOND_TEST_BUILD
/* Seconds to add to the wall clock, from the file BATON_TEST_CLOCK. */
static int64_t
test_offset(void)
{
	const char	*path = getenv("BATON_TEST_CLOCK");
	char		 buf[32];
	ssize_t		 n;
	int		 fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	return (strtoll(buf, NULL, 10));
}
#endif

/* The wall clock in microseconds, as the host (or a test) has it. */
static uint64_t
wall_usec(void)
{
	struct timespec	ts;
	int64_t		us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#ifdef BATOND_TEST_BUILD
	us += test_offset() * 1000000;
#endif
	return (us > 0 ? (uint64_t)us : 0);
}

/* Locked: advance the broker's time to now. */
static void
advance(void)
{
	uint64_t	wall = wall_usec(), mono = clock_usec(), next;

	if (!c.started) {
		c.started = 1;
		c.start_wall = c.last = wall;
		c.start_mono = c.last_mono = mono;
		return;
	}
	if (wall >= c.last) {
		next = wall;
		if (c.behind >= 1000000)
			log_info("clock: the wall clock caught up with the "
			    "broker's time");
		c.behind = 0;
		c.slewing = 0;
	} else {
		/*
		 * Stepped back: go on at half speed until it catches up,
		 * measured from the step (halving each short interval
		 * would lose the odd microseconds, and under load all).
		 */
		if (!c.slewing) {
			c.slewing = 1;
			c.slew_from = c.last;
			c.slew_mono = c.last_mono;
		}
		next = c.slew_from + (mono - c.slew_mono) / 2;
		if (next < c.last)
			next = c.last;
		if (next > wall && c.behind < 1000000 &&
		    next - wall >= 1000000)
			log_warnx("clock: the wall clock stepped back %llu s; "
			    "the broker's time goes on at half speed until it "
			    "catches up, so nothing expired comes back",
			    (unsigned long long)((next - wall) / 1000000));
		c.behind = next > wall ? next - wall : 0;
	}
	c.last = next;
	c.last_mono = mono;
}

uint64_t
clock_now(void)
{
	uint64_t	t;

	pthread_mutex_lock(&c.lock);
	advance();
	t = c.last / 1000000;
	pthread_mutex_unlock(&c.lock);
	return (t);
}

uint64_t
clock_forget(void)
{
	uint64_t	t, real;

	pthread_mutex_lock(&c.lock);
	advance();
	real = c.start_wall + (c.last_mono - c.start_mono);
	t = (real < c.last ? real : c.last) / 1000000;
	pthread_mutex_unlock(&c.lock);
	return (t);
}

/* Seconds the wall clock is behind the broker's time (0: not behind). */
uint64_t
clock_behind(void)
{
	uint64_t	b;

	pthread_mutex_lock(&c.lock);
	advance();
	b = c.behind / 1000000;
	pthread_mutex_unlock(&c.lock);
	return (b);
}
