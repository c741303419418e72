/*
 * journal.c: durable revocations and spent single-use jtis.  An
 * append-only file of self-checking records backs two in-memory hash sets;
 * an answer that depends on a record is sent only after write and
 * fdatasync.
 *
 * File: "BATONJ1\n", then records of 45 bytes:
 *   u32be 25 | u8 type | u64be expiry | jti[16] | BLAKE2b-128 of the 29
 *   bytes before it.
 *
 * Start-up.  Records are read on their 45-byte boundaries.  Bad or partial
 * records with nothing good after them are a torn tail from a crash
 * mid-append, never acknowledged: logged and cut off.  A bad record with a
 * good one anywhere after it (on a boundary or not) is not a torn tail:
 * dropping what follows could forget acknowledged revocations, so start-up
 * refuses, naming the file and the offset, and leaves the file as it is.
 *
 * Who does what (one mutex, j.lock, held only for memory work and write):
 *  - journal_add, on a worker's event thread, checks, writes the records
 *    with one write(2), enters them in the sets (so a second spender sees
 *    them at once) and returns a ticket, the batch's sequence number.  It
 *    never waits for the disk.  The worker holds the answer back until
 *    journal_committed(ticket) says so (server.c).
 *  - The commit thread runs fdatasync, outside the lock, for every batch
 *    written before it began (group commit: the records of every worker
 *    share one sync), advances the synced sequence and calls the notify
 *    hook, which wakes the workers' event bases to send what is now on
 *    disk.  No event loop ever waits for a disk.
 *  - Compaction runs on a thread of its own.  From its start each append
 *    is also kept in a delta buffer.  It copies the entries to keep under
 *    the lock, in steps of about JOURNAL_SWEEP_STEP entries with a pause between
 *    (no I/O), then writes and fsyncs the new file outside it while
 *    appends go on to the old file.  The delta is copied to the new file
 *    twice, each time outside the lock with an fdatasync: first, then,
 *    for what reached the old file meanwhile, after a short hold of the
 *    lock from which appends are diverted: kept in the delta only, in no
 *    file, and unacknowledged.  Under the lock again: the rename over
 *    the journal, the swap of descriptors, and the diverted records
 *    written (not synced) to the new file.  No sync ever runs under the
 *    lock, so verifies, which read the sets under it, never wait for the
 *    disk.  The directory is synced after the lock is dropped while the
 *    commit thread waits; then it syncs the diverted records as any
 *    others, so nothing appended to the new file is acknowledged before
 *    its name is durable.
 *  - A failed write (a full disk) is cut off and refused; the next write
 *    tries again, so writes work again as soon as there is room.
 *  - A failed sync or directory sync, a partial write that cannot be cut
 *    off, or a journal file removed or moved away (it would not be read at
 *    the next start) marks the journal broken: later writes are refused,
 *    and answers still waiting are turned into errors.  Reads go on.  What
 *    is on disk is then unknown, so the commit thread repairs by
 *    rewriting: every second it writes the sets in memory, which hold every
 *    acknowledged record and each record at most once, to a new file the
 *    way compaction does, and renames it over the journal.  Once that and
 *    the directory are synced, writes are taken again.  Records written
 *    but never acknowledged may be in it: a revocation that holds, or a
 *    single-use jti spent whose verify was answered "unavailable" (fail
 *    closed, never an allow that was not recorded).
 *
 * Expiry keeps a margin: an entry is dropped only once its expiry plus
 * JOURNAL_MARGIN is past on clock_forget (clock.c: the wall clock at start
 * plus monotonic time), so no step of the wall clock while running makes
 * it forget early, and one made before the start by less than the margin,
 * then corrected, loses no entry that is live again.  Tokens themselves
 * are checked against clock_now exactly; the margin only delays
 * forgetting.
 *
 * Per-uid bound: each entry remembers the uid whose request created it
 * (entries read at start-up belong to nobody).  A writer with a cap may
 * hold at most that many live entries (expiry not yet past); counts are
 * recomputed at every compaction.
 */

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "batond.h"

#define J_MAGIC		"BATONJ1\n"
#define J_MAGIC_LEN	8
#define J_BODY		25
#define J_HASH		16
#define J_REC		(4 + J_BODY + J_HASH)
/* A chain's single-use jtis and those of a call token's lineage. */
#define JOURNAL_MAX_BATCH (2 * BATON_MAX_BLOCKS)

#define J_NOBODY	((uid_t)-1)	/* entries read at start-up */
/*
 * Entries visited per hold of the lock while compacting: bounded by
 * entries, not buckets, so a hold stays a few tens of microseconds
 * however full the table is (4096 buckets of a million-entry table held
 * it for 2-17 ms on the benchmark machine, each verify waiting behind).
 */
#define JOURNAL_SWEEP_STEP 512

struct jent {
	uint8_t		 jti[BATON_JTI_LEN];
	uint64_t	 exp;
	uint64_t	 seq;		/* batch that wrote it */
	uid_t		 uid;		/* who created it, or J_NOBODY */
	struct jent	*next;
};

struct jset {
	struct jent	**b;
	size_t		  nb;
	size_t		  n;
};

struct juid {
	uid_t		 uid;
	size_t		 n;		/* live entries it created */
};

/* One entry as compaction copies it under the lock. */
struct jsnap {
	uint8_t		 type;
	uint8_t		 jti[BATON_JTI_LEN];
	uint64_t	 exp;
};

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work_cv;	/* commit thread: work or stop */
	pthread_cond_t	 synced_cv;	/* a sync finished */
	uint64_t	 wseq;		/* batches written */
	uint64_t	 sseq;		/* batches known to be on disk */
	int		 syncing;	/* the commit thread uses fd unlocked */
	int		 swapping;	/* compaction: do not start a sync */
	int		 broken;	/* fail closed until rewritten */
	char		 why[160];	/* why it is broken */
	int		 werr;		/* errno of the last write, 0 ok */
	char		 cerr[160];	/* last compaction's failure, or "" */
	int		 stop;
	int		 fd;
	char		*path;
	char		*dir;
	struct jset	 sets[2];	/* JOURNAL_REVOKE - 1, JOURNAL_SPENT - 1 */
	size_t		 records;	/* in the file, live or not */
	struct juid	*uids;
	size_t		 nuids;
	int		 compacting;	/* appends also go to delta */
	int		 divert;	/* appends go to delta only (swap) */
	uint8_t		*delta;
	size_t		 dlen, dcap;
	int		 compact_running;
	void		(*notify)(void);
	uint8_t		 hkey[crypto_shorthash_KEYBYTES];
} j = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work_cv = PTHREAD_COND_INITIALIZER,
	.synced_cv = PTHREAD_COND_INITIALIZER,
	.fd = -1
};

/* Threads, touched only by the main thread. */
static pthread_t	committer, compactor;
static int		committer_up, compactor_up;

static void	set_broken(const char *);

static size_t
jhash(const uint8_t *jti, size_t nb)
{
	uint8_t		h[crypto_shorthash_BYTES];
	uint64_t	v;

	crypto_shorthash(h, jti, BATON_JTI_LEN, j.hkey);
	memcpy(&v, h, sizeof v);
	return ((size_t)(v % nb));
}

static struct jent *
jset_find(struct jset *s, const uint8_t *jti)
{
	struct jent	*e;

	if (s->nb == 0)
		return (NULL);
	for (e = s->b[jhash(jti, s->nb)]; e != NULL; e = e->next)
		if (memcmp(e->jti, jti, BATON_JTI_LEN) == 0)
			return (e);
	return (NULL);
}

static void
jset_grow(struct jset *s)
{
	struct jent	**nbk, *e, *next;
	size_t		  nnb, i, h;

	nnb = s->nb == 0 ? 1024 : s->nb * 2;
	nbk = xcalloc(nnb, sizeof *nbk);
	for (i = 0; i < s->nb; i++) {
		for (e = s->b[i]; e != NULL; e = next) {
			next = e->next;
			h = jhash(e->jti, nnb);
			e->next = nbk[h];
			nbk[h] = e;
		}
	}
	free(s->b);
	s->b = nbk;
	s->nb = nnb;
}

static struct juid *
juid_find(uid_t uid, int create)
{
	size_t	i;

	for (i = 0; i < j.nuids; i++)
		if (j.uids[i].uid == uid)
			return (&j.uids[i]);
	if (!create)
		return (NULL);
	j.uids = xreallocarray(j.uids, j.nuids + 1, sizeof *j.uids);
	j.uids[j.nuids].uid = uid;
	j.uids[j.nuids].n = 0;
	return (&j.uids[j.nuids++]);
}

/* Enter a jti, or raise its expiry; 1 if that changed anything. */
static int
jset_add(struct jset *s, const uint8_t *jti, uint64_t exp, uint64_t seq,
    uid_t uid)
{
	struct jent	*e;
	size_t		 h;

	if ((e = jset_find(s, jti)) != NULL) {
		if (exp <= e->exp)
			return (0);
		e->exp = exp;
		e->seq = seq;
		return (1);
	}
	/* Compaction walks the buckets in steps: keep them in place. */
	if (s->nb == 0 || (s->n >= s->nb && !j.compacting))
		jset_grow(s);
	e = xcalloc(1, sizeof *e);
	memcpy(e->jti, jti, BATON_JTI_LEN);
	e->exp = exp;
	e->seq = seq;
	e->uid = uid;
	h = jhash(jti, s->nb);
	e->next = s->b[h];
	s->b[h] = e;
	s->n++;
	if (uid != J_NOBODY)
		juid_find(uid, 1)->n++;
	return (1);
}

/*
 * Buckets from on, until at least budget entries were visited: drop what
 * is past expiry plus the margin, count what each uid holds live, and
 * copy into out (from index *k, at most max) the entries written up to
 * batch wseq; later ones are in the delta.  Returns the next bucket.
 */
static size_t
jset_sweep(struct jset *s, size_t from, size_t budget, int type,
    uint64_t now, uint64_t wseq, struct jsnap *out, size_t max, size_t *k)
{
	struct jent	**ep, *e;
	size_t		  i, seen = 0;

	for (i = from; i < s->nb && seen < budget; i++) {
		ep = &s->b[i];
		while ((e = *ep) != NULL) {
			seen++;
			if (e->exp + JOURNAL_MARGIN < now) {
				*ep = e->next;
				free(e);
				s->n--;
				continue;
			}
			ep = &e->next;
			if (e->seq > wseq || *k >= max)
				continue;
			if (e->uid != J_NOBODY && e->exp >= now)
				juid_find(e->uid, 1)->n++;
			out[*k].type = (uint8_t)type;
			memcpy(out[*k].jti, e->jti, BATON_JTI_LEN);
			out[*k].exp = e->exp;
			(*k)++;
		}
		seen++;		/* an empty bucket costs a little too */
	}
	return (i);
}

static void
jset_free(struct jset *s)
{
	struct jent	*e, *next;
	size_t		 i;

	for (i = 0; i < s->nb; i++)
		for (e = s->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(s->b);
	memset(s, 0, sizeof *s);
}

static void
rec_encode(uint8_t *out, int type, const uint8_t *jti, uint64_t exp)
{
	int	i;

	out[0] = 0;
	out[1] = 0;
	out[2] = 0;
	out[3] = J_BODY;
	out[4] = (uint8_t)type;
	for (i = 0; i < 8; i++)
		out[5 + i] = (uint8_t)(exp >> (56 - 8 * i));
	memcpy(out + 13, jti, BATON_JTI_LEN);
	crypto_generichash(out + 4 + J_BODY, J_HASH, out, 4 + J_BODY, NULL, 0);
}

/* 1: good record; 0: torn or corrupt. */
static int
rec_decode(const uint8_t *in, int *type, uint8_t *jti, uint64_t *exp)
{
	uint8_t	h[J_HASH];
	int	i;

	if (in[0] != 0 || in[1] != 0 || in[2] != 0 || in[3] != J_BODY)
		return (0);
	crypto_generichash(h, J_HASH, in, 4 + J_BODY, NULL, 0);
	if (sodium_memcmp(h, in + 4 + J_BODY, J_HASH) != 0)
		return (0);
	if (in[4] != JOURNAL_REVOKE && in[4] != JOURNAL_SPENT)
		return (0);
	*type = in[4];
	*exp = 0;
	for (i = 0; i < 8; i++)
		*exp = *exp << 8 | in[5 + i];
	memcpy(jti, in + 13, BATON_JTI_LEN);
	return (1);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * After a rename the new name is durable only once the directory is: if
 * that fails, records appended to the new file could vanish with it after
 * a crash, so the caller must not acknowledge anything more.
 */
static int
fsync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/* Some batch is now on disk, or never will be: tell who waits.  Locked. */
static void
synced_locked(void)
{
	pthread_cond_broadcast(&j.synced_cv);
	if (j.notify != NULL)
		j.notify();
}

/*
 * Is the state directory still one start-up would take (ours, not group-
 * or world-writable)?  A repair writes into whatever is at that path now.
 */
static int
dir_safe(const char *dir, char **cause)
{
	struct stat	st;
	int		fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		xasprintf(cause, "%s: must be owned by uid %u and not group- "
		    "or world-writable", dir, (unsigned)geteuid());
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Rewrite the file with only the entries to keep: see the comment at the
 * top for the steps and which of them hold the lock.  With repair, rewrite
 * a broken journal (and only then); on success it takes writes again.
 * With background, this is a compaction thread of its own, which lowers
 * its priority for the bulk of the work.
 */
static int
compact_run(int repair, int background, char **cause)
{
	struct jsnap	*snap = NULL;
	uint8_t		*buf = NULL, *d;
	char		*tmp = NULL, why[160];
	uint64_t	 now = clock_forget(), wseq, t0, held1 = 0, held2;
	size_t		 n, k = 0, i, b, nb, len, dlen, meanwhile;
	int		 fd = -1, oldfd, rc = BATON_EUNAVAIL, t, err;
	struct timespec	 pause = { 0, 20000 };
	static int	 nice_warned;

	if (repair && dir_safe(j.dir, cause) != 0)
		return (BATON_EUNAVAIL);
	pthread_mutex_lock(&j.lock);
	if (j.path == NULL || j.compacting || j.broken != repair) {
		/* Broken: only a repair rewrites it. */
		pthread_mutex_unlock(&j.lock);
		if (repair) {
			xasprintf(cause, "a compaction is under way");
			return (BATON_EUNAVAIL);
		}
		return (0);
	}
	/*
	 * From here every append also goes to the delta, so the walk needs
	 * only what was written up to now, and may let go of the lock between
	 * steps: requests wait for one step, never for the whole walk.  The
	 * buckets stay in place meanwhile (jset_add does not grow them).
	 */
	j.compacting = 1;
	j.dlen = 0;
	wseq = j.wseq;
	for (i = 0; i < j.nuids; i++)
		j.uids[i].n = 0;
	n = j.sets[0].n + j.sets[1].n;
	snap = xreallocarray(NULL, n + 1, sizeof *snap);
	for (t = 0; t < 2; t++) {
		nb = j.sets[t].nb;
		for (b = 0; b < nb;) {
			t0 = clock_usec();
			b = jset_sweep(&j.sets[t], b, JOURNAL_SWEEP_STEP, t + 1,
			    now, wseq, snap, n, &k);
			t0 = clock_usec() - t0;
			if (t0 > held1)
				held1 = t0;
			pthread_mutex_unlock(&j.lock);
			/*
			 * A mutex is not fair: without a pause this thread
			 * takes it back before a woken waiter runs.
			 */
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&j.lock);
		}
	}
	n = k;
	pthread_mutex_unlock(&j.lock);

	/*
	 * Unlocked: hash, write and sync the bulk of the new file: a few
	 * hundred milliseconds of CPU for a million entries.  At the lowest
	 * priority from here on, so that a worker woken by a request takes
	 * the CPU at once (on two cores, this thread at nice 0 put 3-15 ms
	 * into the verify p99.9).  Compactions are one thread each, so the
	 * next one starts at the broker's own priority again.  The holds of
	 * the lock below are a few tens of microseconds.
	 */
	if (background && setpriority(PRIO_PROCESS, (id_t)gettid(),
	    JOURNAL_COMPACT_NICE) != 0 && !nice_warned) {
		log_warnx("journal: compaction cannot lower its priority: %s",
		    strerror(errno));
		nice_warned = 1;
	}
	len = J_MAGIC_LEN + n * J_REC;
	buf = xmalloc(len);
	memcpy(buf, J_MAGIC, J_MAGIC_LEN);
	for (i = 0; i < n; i++)
		rec_encode(buf + J_MAGIC_LEN + i * J_REC, snap[i].type,
		    snap[i].jti, snap[i].exp);
	free(snap);
	xasprintf(&tmp, "%s.tmp", j.path);
	/*
	 * O_APPEND: every record lands at the end, whatever happened before.
	 * This descriptor is kept after the rename: reopening by name would
	 * be a second lookup of a path that could have changed.
	 */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	free(buf);
	buf = NULL;

	/* What was appended meanwhile, still unlocked. */
	pthread_mutex_lock(&j.lock);
	d = j.delta;
	dlen = j.dlen;
	j.delta = NULL;
	j.dlen = j.dcap = 0;
	pthread_mutex_unlock(&j.lock);
	meanwhile = dlen / J_REC;
	if (dlen > 0 && (write_all(fd, d, dlen) != 0 || fdatasync(fd) != 0)) {
		free(d);
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		pthread_mutex_lock(&j.lock);
		goto fail_locked;
	}
	free(d);

	/*
	 * Locked, for memory work only: the old file gets nothing more
	 * (appends are diverted), the commit thread stays off it, and what
	 * reached it since is taken.
	 */
	pthread_mutex_lock(&j.lock);
	j.swapping = 1;
	while (j.syncing)
		pthread_cond_wait(&j.synced_cv, &j.lock);
	t0 = clock_usec();
	j.divert = 1;
	d = j.delta;
	dlen = j.dlen;
	j.delta = NULL;
	j.dlen = j.dcap = 0;
	wseq = j.wseq;		/* every batch up to here is in the old file */
	held2 = clock_usec() - t0;
	pthread_mutex_unlock(&j.lock);
	/* Unlocked: with those, the new file holds all the old one does. */
	meanwhile += dlen / J_REC;
	if ((dlen > 0 && write_all(fd, d, dlen) != 0) || fdatasync(fd) != 0) {
		free(d);
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		pthread_mutex_lock(&j.lock);
		goto fail_locked;
	}
	free(d);

	/* Locked: the rename, the swap, the diverted records. */
	pthread_mutex_lock(&j.lock);
	t0 = clock_usec();
	if (rename(tmp, j.path) != 0) {
		xasprintf(cause, "rename %s: %s", tmp, strerror(errno));
		goto fail_locked;
	}
	oldfd = j.fd;
	j.fd = fd;
	fd = -1;
	meanwhile += j.dlen / J_REC;
	/*
	 * Batches after wseq, unacknowledged: the commit thread syncs them
	 * once swapping ends.  A write that fails here leaves a tail that
	 * cannot be told from acknowledged records: fail closed.
	 */
	if (j.dlen > 0 && write_all(j.fd, j.delta, j.dlen) != 0) {
		snprintf(why, sizeof why, "write after compaction failed: %s",
		    strerror(errno));
		set_broken(why);
	}
	j.divert = 0;
	j.records = n + meanwhile;
	j.compacting = 0;
	free(j.delta);
	j.delta = NULL;
	j.dlen = j.dcap = 0;
	t0 = clock_usec() - t0;
	if (t0 > held2)
		held2 = t0;
	pthread_mutex_unlock(&j.lock);
	/* Unlocked: the last close of the old file frees its blocks. */
	if (oldfd != -1)
		close(oldfd);

	/*
	 * The commit thread waits (swapping) until the new name is durable:
	 * appends go on meanwhile, and are answered once it is.
	 */
	rc = fsync_dir(j.dir);
	err = errno;
	pthread_mutex_lock(&j.lock);
	if (rc != 0) {
		/*
		 * The rename may not survive a crash, and with it nothing
		 * appended from now on: fail closed until rewritten.
		 */
		xasprintf(cause, "fsync %s: %s", j.dir, strerror(err));
		snprintf(why, sizeof why, "fsync of the state directory "
		    "failed: %s", strerror(err));
		set_broken(why);
		rc = BATON_EUNAVAIL;
	} else {
		if (wseq > j.sseq)
			j.sseq = wseq;
		if (repair) {
			j.broken = 0;
			j.werr = 0;
		}
		j.cerr[0] = '\0';
	}
	j.swapping = 0;
	pthread_cond_broadcast(&j.work_cv);
	synced_locked();
	pthread_mutex_unlock(&j.lock);
	if (rc == 0)
		log_debug("journal: compacted to %zu records, %zu appended "
		    "meanwhile; the lock held at most %llu us walking, %llu us "
		    "swapping", n + meanwhile, meanwhile,
		    (unsigned long long)held1, (unsigned long long)held2);
	free(tmp);
	return (rc);

fail:
	pthread_mutex_lock(&j.lock);
fail_locked:
	/* Diverted records reached no file yet: the old one takes them. */
	if (j.divert && j.dlen > 0 && write_all(j.fd, j.delta, j.dlen) != 0) {
		snprintf(why, sizeof why, "write after a failed compaction "
		    "failed: %s", strerror(errno));
		set_broken(why);
	}
	j.divert = 0;
	j.compacting = 0;
	if (!repair)
		snprintf(j.cerr, sizeof j.cerr, "%s", *cause);
	free(j.delta);
	j.delta = NULL;
	j.dlen = j.dcap = 0;
	if (j.swapping) {
		j.swapping = 0;
		pthread_cond_broadcast(&j.work_cv);
	}
	pthread_mutex_unlock(&j.lock);
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	free(tmp);
	free(buf);
	return (rc);
}

int
journal_compact(char **cause)
{
	return (compact_run(0, 0, cause));
}

/*
 * Is there a good record at any byte offset from off on?  A bad record
 * followed by one is corruption, or records misaligned by an earlier
 * partial write: either way not a tail that can be cut.
 */
static int
good_after(const uint8_t *buf, size_t off, size_t len, size_t *at)
{
	uint8_t		jti[BATON_JTI_LEN];
	uint64_t	exp;
	int		type;

	for (; off + J_REC <= len; off++)
		if (rec_decode(buf + off, &type, jti, &exp)) {
			*at = off;
			return (1);
		}
	return (0);
}

int
journal_open(const char *dir, char **cause)
{
	struct stat	 st;
	uint8_t		*buf = NULL, jti[BATON_JTI_LEN];
	uint64_t	 exp, now = clock_forget();
	size_t		 off, len = 0, good, torn = 0, at;
	ssize_t		 n;
	int		 fd, type, rc;

	randombytes_buf(j.hkey, sizeof j.hkey);
	j.dir = xstrdup(dir);
	xasprintf(&j.path, "%s/journal", dir);
	/* O_NONBLOCK: a FIFO planted here must not hang the start. */
	fd = open(j.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1 && errno != ENOENT) {
		xasprintf(cause, "%s: %s", j.path, strerror(errno));
		return (BATON_EIO);
	}
	if (fd != -1) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
			xasprintf(cause, "%s: must be a regular file of mode "
			    "0600 owned by uid %u", j.path, (unsigned)geteuid());
			close(fd);
			return (BATON_EIO);
		}
		buf = xmalloc((size_t)st.st_size + 1);
		while (len < (size_t)st.st_size) {
			n = read(fd, buf + len, (size_t)st.st_size - len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(fd);
		off = 0;
		if (len >= J_MAGIC_LEN && memcmp(buf, J_MAGIC, J_MAGIC_LEN) == 0)
			off = J_MAGIC_LEN;
		else if (len != 0) {
			xasprintf(cause, "%s: not a baton journal", j.path);
			free(buf);
			return (BATON_EMALFORMED);
		}
		good = off;
		while (off + J_REC <= len) {
			if (!rec_decode(buf + off, &type, jti, &exp))
				break;
			if (exp + JOURNAL_MARGIN >= now)
				jset_add(&j.sets[type - 1], jti, exp, 0,
				    J_NOBODY);
			off += J_REC;
			good = off;
		}
		if (good_after(buf, good + 1, len, &at)) {
			xasprintf(cause, "%s: bad record at offset %zu, and a "
			    "good one at offset %zu after it: not a torn tail; "
			    "the file is left as it is (see batond(8), STATE)",
			    j.path, good, at);
			free(buf);
			return (BATON_EMALFORMED);
		}
		torn = len - good;
		free(buf);
	}
	if (torn != 0)
		log_warnx("journal %s: ignoring a torn tail of %zu bytes",
		    j.path, torn);
	/* Start from a clean file of live entries; drops the torn tail. */
	rc = journal_compact(cause);
	if (rc == 0)
		log_info("journal: %zu revoked, %zu spent jtis", j.sets[0].n,
		    j.sets[1].n);
	return (rc);
}

/*
 * Is the file behind fd still the journal the next start reads?  Not
 * when it was removed, or it or the directory renamed or replaced.
 */
static int
in_place(int fd)
{
	struct stat	a, b;

	if (fstat(fd, &a) != 0 || a.st_nlink == 0)
		return (0);
	if (stat(j.path, &b) != 0)
		return (0);
	return (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* Locked: refuse writes, turn waiting answers into errors. */
static void
set_broken(const char *why)
{
	if (!j.broken)
		log_warnx("journal %s: %s; refusing writes, rewriting it "
		    "every second", j.path, why);
	snprintf(j.why, sizeof j.why, "%s", why);
	j.broken = 1;
	pthread_cond_broadcast(&j.work_cv);
	synced_locked();
}

/* Broken: wait a second, then try to rewrite the journal.  Locked. */
static void
repair_locked(void)
{
	struct timespec	 ts;
	char		*cause = NULL;
	int		 rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec++;
	(void)pthread_cond_timedwait(&j.work_cv, &j.lock, &ts);
	if (j.stop || !j.broken || j.swapping)
		return;
	pthread_mutex_unlock(&j.lock);
	rc = compact_run(1, 0, &cause);
	pthread_mutex_lock(&j.lock);
	if (rc == 0)
		log_info("journal %s: rewritten in full after \"%s\"; taking "
		    "writes again", j.path, j.why);
	else
		log_warnx_limited("journal-repair", "journal %s: still broken "
		    "(%s): cannot rewrite it: %s", j.path, j.why, cause);
	free(cause);
}

/* The commit thread: group commit for every worker; repairs. */
static void *
committer_main(void *arg)
{
	uint64_t	target;
	int		fd, rc, moved;
	char		why[160];

	(void)arg;
	pthread_mutex_lock(&j.lock);
	for (;;) {
		if (j.broken && !j.swapping && !j.stop) {
			repair_locked();
			continue;
		}
		if (j.swapping || j.broken || j.sseq == j.wseq) {
			/* On stop, whatever was written is synced first. */
			if (j.stop && !j.swapping)
				break;
			pthread_cond_wait(&j.work_cv, &j.lock);
			continue;
		}
		j.syncing = 1;
		target = j.wseq;
		fd = j.fd;
		pthread_mutex_unlock(&j.lock);
		rc = fdatasync(fd);
		if (rc != 0)
			snprintf(why, sizeof why, "sync failed: %s",
			    strerror(errno));
		/* Synced into a file the next start would not read: lost. */
		moved = rc == 0 && !in_place(fd);
		pthread_mutex_lock(&j.lock);
		j.syncing = 0;
		if (rc == 0 && !moved) {
			if (target > j.sseq)
				j.sseq = target;
			synced_locked();
		} else
			set_broken(moved ? "the journal file was removed or "
			    "moved away" : why);
	}
	pthread_mutex_unlock(&j.lock);
	return (NULL);
}

void
journal_start(void (*notify)(void))
{
	sigset_t	all, old;

	pthread_mutex_lock(&j.lock);
	j.notify = notify;
	pthread_mutex_unlock(&j.lock);
	if (committer_up)
		return;
	/* Signals belong to the main thread's event loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&committer, NULL, committer_main, NULL) != 0)
		fatalx("journal: cannot start the commit thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	committer_up = 1;
}

void
journal_set_notify(void (*notify)(void))
{
	pthread_mutex_lock(&j.lock);
	j.notify = notify;
	pthread_mutex_unlock(&j.lock);
}

static void *
compactor_main(void *arg)
{
	char	*cause = NULL;

	(void)arg;
	if (compact_run(0, 1, &cause) != 0) {
		log_warnx("journal compaction: %s", cause);
		free(cause);
	}
	pthread_mutex_lock(&j.lock);
	j.compact_running = 0;
	pthread_mutex_unlock(&j.lock);
	return (NULL);
}

/* Compact on a thread of its own, unless one is still at it. */
void
journal_compact_start(void)
{
	sigset_t	all, old;
	int		running;

	pthread_mutex_lock(&j.lock);
	running = j.compact_running;
	pthread_mutex_unlock(&j.lock);
	if (running)
		return;
	if (compactor_up) {
		pthread_join(compactor, NULL);
		compactor_up = 0;
	}
	pthread_mutex_lock(&j.lock);
	j.compact_running = 1;
	pthread_mutex_unlock(&j.lock);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&compactor, NULL, compactor_main, NULL) != 0) {
		log_warnx("journal: cannot start a compaction thread");
		pthread_mutex_lock(&j.lock);
		j.compact_running = 0;
		pthread_mutex_unlock(&j.lock);
	} else
		compactor_up = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
journal_close(void)
{
	if (compactor_up) {
		pthread_join(compactor, NULL);
		compactor_up = 0;
	}
	if (committer_up) {
		pthread_mutex_lock(&j.lock);
		j.stop = 1;
		pthread_cond_broadcast(&j.work_cv);
		pthread_mutex_unlock(&j.lock);
		pthread_join(committer, NULL);
		committer_up = 0;
	}
	pthread_mutex_lock(&j.lock);
	if (j.fd != -1)
		close(j.fd);
	j.fd = -1;
	jset_free(&j.sets[0]);
	jset_free(&j.sets[1]);
	free(j.uids);
	j.uids = NULL;
	j.nuids = 0;
	free(j.delta);
	j.delta = NULL;
	free(j.path);
	free(j.dir);
	j.path = j.dir = NULL;
	j.notify = NULL;
	pthread_mutex_unlock(&j.lock);
}

int
journal_has(int type, const uint8_t *jti)
{
	int	found;

	pthread_mutex_lock(&j.lock);
	found = jset_find(&j.sets[type - 1], jti) != NULL;
	pthread_mutex_unlock(&j.lock);
	return (found);
}

/* Is any of n jtis in the set?  One lock for the whole chain. */
int
journal_has_any(int type, const uint8_t (*jtis)[BATON_JTI_LEN], size_t n)
{
	size_t	i;
	int	found = 0;

	pthread_mutex_lock(&j.lock);
	for (i = 0; i < n && !found; i++)
		found = jset_find(&j.sets[type - 1], jtis[i]) != NULL;
	pthread_mutex_unlock(&j.lock);
	return (found);
}

/*
 * A write that failed part way: cut it off so later records stay on their
 * boundaries.  If that fails too, nothing may be appended any more.
 * Locked.
 */
static void
cut_partial(off_t size)
{
	char	why[160];
	int	rc;

	rc = ftruncate(j.fd, size);
	if (rc != 0) {
		snprintf(why, sizeof why, "cannot cut a partial write at "
		    "offset %lld: %s", (long long)size, strerror(errno));
		set_broken(why);
	}
}

/*
 * Record n jtis of one type.  With exclusive set, refuse (BATON_EDENIED)
 * if any is already present, so check-and-spend is one atomic step:
 * concurrent verifies of one single-use token see exactly one success.
 * Records that change nothing (a jti already held as long) are not
 * written.
 *
 * 0 with *ticket: 0 when everything is already on disk, else the batch to
 * wait for with journal_committed.  BATON_ETOOBIG (with *cause) when the
 * writer would hold more live entries than its cap; BATON_EUNAVAIL (with
 * *cause) when the records cannot be written.
 */
int
journal_add(int type, const uint8_t (*jtis)[BATON_JTI_LEN],
    const uint64_t *exps, size_t n, int exclusive, const struct writer *who,
    uint64_t *ticket, char **cause)
{
	struct jset	*s = &j.sets[type - 1];
	struct jent	*e;
	struct juid	*u;
	uint8_t		 buf[JOURNAL_MAX_BATCH * J_REC];
	struct stat	 st;
	uint64_t	 wait = 0, seq;
	size_t		 i, k = 0, fresh = 0, held;
	int		 rc = 0;

	*ticket = 0;
	if (n > JOURNAL_MAX_BATCH)
		return (BATON_EINVAL);
	pthread_mutex_lock(&j.lock);
	if (j.fd == -1) {
		xasprintf(cause, "journal is not open");
		rc = BATON_EUNAVAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((e = jset_find(s, jtis[i])) == NULL) {
			fresh++;
			rec_encode(buf + k++ * J_REC, type, jtis[i], exps[i]);
			continue;
		}
		if (exclusive) {
			rc = BATON_EDENIED;
			goto out;
		}
		if (exps[i] > e->exp)
			rec_encode(buf + k++ * J_REC, type, jtis[i], exps[i]);
		else if (e->seq > wait)
			wait = e->seq;	/* there already, maybe not synced */
	}
	if (j.broken) {
		xasprintf(cause, "journal is broken (%s); refusing writes "
		    "until it is rewritten (tried every second)", j.why);
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if (k == 0) {
		*ticket = wait > j.sseq ? wait : 0;
		goto out;
	}
	if (who != NULL && who->cap != 0 && fresh > 0) {
		held = (u = juid_find(who->uid, 0)) != NULL ? u->n : 0;
		if (held + fresh > who->cap) {
			xasprintf(cause, "uid %u already holds %zu live journal "
			    "entries, the most journal-max-per-uid allows; "
			    "they are forgotten as their tokens expire",
			    (unsigned)who->uid, held);
			rc = BATON_ETOOBIG;
			goto out;
		}
	}
	/* Diverted (compaction is swapping files): in the delta only. */
	if (!j.divert && fstat(j.fd, &st) != 0) {
		xasprintf(cause, "journal: %s", strerror(errno));
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if (!j.divert && write_all(j.fd, buf, k * J_REC) != 0) {
		j.werr = errno;
		xasprintf(cause, "journal write: %s", strerror(j.werr));
		log_warnx_limited("journal-write", "journal %s: write: %s; "
		    "refusing what needs a record until writes work again",
		    j.path, strerror(j.werr));
		cut_partial(st.st_size);
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if (j.werr != 0) {
		log_info("journal %s: writes work again", j.path);
		j.werr = 0;
	}
	if (j.compacting) {
		if (j.dlen + k * J_REC > j.dcap) {
			j.dcap = j.dcap == 0 ? 64 * J_REC : j.dcap * 2;
			if (j.dcap < j.dlen + k * J_REC)
				j.dcap = j.dlen + k * J_REC;
			j.delta = xreallocarray(j.delta, j.dcap, 1);
		}
		memcpy(j.delta + j.dlen, buf, k * J_REC);
		j.dlen += k * J_REC;
	}
	seq = ++j.wseq;
	for (i = 0; i < n; i++)
		jset_add(s, jtis[i], exps[i], seq,
		    who != NULL ? who->uid : J_NOBODY);
	j.records += k;
	*ticket = seq;
	pthread_cond_signal(&j.work_cv);
out:
	pthread_mutex_unlock(&j.lock);
	return (rc);
}

/* 1: the batch is on disk; 0: not yet; -1: it never will be (broken). */
int
journal_committed(uint64_t ticket)
{
	int	rc;

	pthread_mutex_lock(&j.lock);
	rc = ticket <= j.sseq ? 1 : j.broken ? -1 : 0;
	pthread_mutex_unlock(&j.lock);
	return (rc);
}

/*
 * The journal's health for status, in buf: 0 "ok" (perhaps with a
 * compaction failing), 1 writes failing (the last one did), 2 broken.
 * Notices a journal file removed or moved even with no write since.
 */
int
journal_health(char *buf, size_t len)
{
	int	h;

	pthread_mutex_lock(&j.lock);
	if (!j.broken && j.fd != -1 && !j.swapping && !in_place(j.fd))
		set_broken("the journal file was removed or moved away");
	if (j.broken) {
		h = 2;
		snprintf(buf, len, "broken: %s; refusing writes, rewriting it "
		    "every second", j.why);
	} else if (j.werr != 0) {
		h = 1;
		snprintf(buf, len, "writes failing: %s; refusing what needs a "
		    "record until they work", strerror(j.werr));
	} else {
		h = 0;
		if (j.cerr[0] != '\0')
			snprintf(buf, len, "ok, but compaction fails: %s",
			    j.cerr);
		else
			snprintf(buf, len, "ok");
	}
	pthread_mutex_unlock(&j.lock);
	return (h);
}

void
journal_counts(size_t *revoked, size_t *spent)
{
	pthread_mutex_lock(&j.lock);
	*revoked = j.sets[0].n;
	*spent = j.sets[1].n;
	pthread_mutex_unlock(&j.lock);
}
