/*
 * journal.c: durable revocations and spent single-use jtis.  An
 * append-only file of self-checking records backs two in-memory hash sets;
 * a record is acknowledged only after write and fdatasync.
 *
 * File: "BATONJ1\n", then records of 45 bytes:
 *   u32be 25 | u8 type | u64be expiry | jti[16] | BLAKE2b-128 of the 29
 *   bytes before it.
 * A record that is short or whose hash fails ends the journal: it is a
 * torn tail from a crash (we only ever append), so it is cut off, never
 * read as data.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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

struct jent {
	uint8_t		 jti[BATON_JTI_LEN];
	uint64_t	 exp;
	struct jent	*next;
};

struct jset {
	struct jent	**b;
	size_t		  nb;
	size_t		  n;
};

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 synced_cv;
	uint64_t	 wseq;		/* batches written */
	uint64_t	 sseq;		/* batches known to be on disk */
	int		 syncing;	/* one thread runs fdatasync for all */
	int		 broken;	/* fdatasync failed: fail closed */
	int		 fd;
	char		*path;
	char		*dir;
	struct jset	 sets[2];	/* JOURNAL_REVOKE - 1, JOURNAL_SPENT - 1 */
	size_t		 records;	/* in the file, live or not */
	uint8_t		 hkey[crypto_shorthash_KEYBYTES];
} j = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, -1,
    NULL, NULL, { { NULL, 0, 0 },
    { NULL, 0, 0 } }, 0, { 0 } };

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

static void
jset_add(struct jset *s, const uint8_t *jti, uint64_t exp)
{
	struct jent	*e;
	size_t		 h;

	if ((e = jset_find(s, jti)) != NULL) {
		if (exp > e->exp)
			e->exp = exp;
		return;
	}
	if (s->n >= s->nb)
		jset_grow(s);
	e = xcalloc(1, sizeof *e);
	memcpy(e->jti, jti, BATON_JTI_LEN);
	e->exp = exp;
	h = jhash(jti, s->nb);
	e->next = s->b[h];
	s->b[h] = e;
	s->n++;
}

/* Drop entries that expired before now. */
static void
jset_expire(struct jset *s, uint64_t now)
{
	struct jent	**ep, *e;
	size_t		  i;

	for (i = 0; i < s->nb; i++) {
		ep = &s->b[i];
		while ((e = *ep) != NULL) {
			if (e->exp < now) {
				*ep = e->next;
				free(e);
				s->n--;
			} else
				ep = &e->next;
		}
	}
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

/* Rewrite the file with only live entries: tmp, fsync, rename. Locked. */
static int
compact_locked(char **cause)
{
	struct jent	*e;
	uint8_t		*buf;
	char		*tmp;
	size_t		 n, len, i, k;
	int		 fd, t;

	/* The syncer uses j.fd unlocked: wait until it is done with it. */
	while (j.syncing)
		pthread_cond_wait(&j.synced_cv, &j.lock);
	jset_expire(&j.sets[0], (uint64_t)time(NULL));
	jset_expire(&j.sets[1], (uint64_t)time(NULL));
	n = j.sets[0].n + j.sets[1].n;
	len = J_MAGIC_LEN + n * J_REC;
	buf = xmalloc(len);
	memcpy(buf, J_MAGIC, J_MAGIC_LEN);
	k = J_MAGIC_LEN;
	for (t = 0; t < 2; t++)
		for (i = 0; i < j.sets[t].nb; i++)
			for (e = j.sets[t].b[i]; e != NULL; e = e->next) {
				rec_encode(buf + k, t + 1, e->jti, e->exp);
				k += J_REC;
			}
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
		if (fd != -1)
			close(fd);
		unlink(tmp);
		free(tmp);
		free(buf);
		return (BATON_EUNAVAIL);
	}
	free(buf);
	if (rename(tmp, j.path) != 0) {
		xasprintf(cause, "rename %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return (BATON_EUNAVAIL);
	}
	free(tmp);
	if (j.fd != -1)
		close(j.fd);
	j.fd = fd;
	if (fsync_dir(j.dir) != 0) {
		/*
		 * The rename may not survive a crash, and with it nothing
		 * appended from now on: fail closed until restarted.
		 */
		xasprintf(cause, "fsync %s: %s", j.dir, strerror(errno));
		j.broken = 1;
		return (BATON_EUNAVAIL);
	}
	j.records = n;
	/* Everything written so far is in the new, synced file. */
	j.sseq = j.wseq;
	pthread_cond_broadcast(&j.synced_cv);
	return (0);
}

int
journal_open(const char *dir, char **cause)
{
	struct stat	 st;
	uint8_t		*buf = NULL, jti[BATON_JTI_LEN];
	uint64_t	 exp, now = (uint64_t)time(NULL);
	size_t		 off, len = 0, good, torn = 0;
	ssize_t		 n;
	int		 fd, type, rc;

	randombytes_buf(j.hkey, sizeof j.hkey);
	j.dir = xstrdup(dir);
	xasprintf(&j.path, "%s/journal", dir);
	fd = open(j.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
			if (exp >= now)
				jset_add(&j.sets[type - 1], jti, exp);
			off += J_REC;
			good = off;
		}
		torn = len - good;
		free(buf);
	}
	if (torn != 0)
		log_warnx("journal %s: ignoring a torn tail of %zu bytes",
		    j.path, torn);
	/* Start from a clean file of live entries; drops the torn tail. */
	pthread_mutex_lock(&j.lock);
	rc = compact_locked(cause);
	pthread_mutex_unlock(&j.lock);
	if (rc == 0)
		log_info("journal: %zu revoked, %zu spent jtis", j.sets[0].n,
		    j.sets[1].n);
	return (rc);
}

void
journal_close(void)
{
	pthread_mutex_lock(&j.lock);
	if (j.fd != -1)
		close(j.fd);
	j.fd = -1;
	jset_free(&j.sets[0]);
	jset_free(&j.sets[1]);
	free(j.path);
	free(j.dir);
	j.path = j.dir = NULL;
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
 * Record n jtis of one type durably.  With exclusive set, refuse
 * (BATON_EDENIED) if any is already present, so check-and-spend is one
 * atomic step: concurrent verifies of one single-use token see exactly one
 * success.
 *
 * Group commit: records are written and entered in the set under the
 * lock, so a second spender sees them at once; the caller then waits until
 * some fdatasync that began after its write has finished.  One thread
 * syncs for every batch written before it started.  If a sync fails the
 * journal is marked broken and every later write fails closed.
 */
int
journal_add(int type, const uint8_t (*jtis)[BATON_JTI_LEN],
    const uint64_t *exps, size_t n, int exclusive, char **cause)
{
	struct jset	*s = &j.sets[type - 1];
	uint8_t		 buf[BATON_MAX_BLOCKS * J_REC];
	struct stat	 st;
	uint64_t	 my, target;
	size_t		 i;
	int		 rc = 0, fd, sync_rc;

	if (n > BATON_MAX_BLOCKS)
		return (BATON_EINVAL);
	pthread_mutex_lock(&j.lock);
	if (j.fd == -1) {
		xasprintf(cause, "journal is not open");
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if (exclusive) {
		for (i = 0; i < n; i++)
			if (jset_find(s, jtis[i]) != NULL) {
				rc = BATON_EDENIED;
				goto out;
			}
	}
	if (j.broken) {
		xasprintf(cause, "journal: an earlier sync failed");
		rc = BATON_EUNAVAIL;
		goto out;
	}
	for (i = 0; i < n; i++)
		rec_encode(buf + i * J_REC, type, jtis[i], exps[i]);
	if (fstat(j.fd, &st) != 0) {
		xasprintf(cause, "journal: %s", strerror(errno));
		rc = BATON_EUNAVAIL;
		goto out;
	}
	if (write_all(j.fd, buf, n * J_REC) != 0) {
		xasprintf(cause, "journal write: %s", strerror(errno));
		/* Cut a partial write so later records stay aligned. */
		if (ftruncate(j.fd, st.st_size) != 0)
			log_warnx("journal: cannot cut a partial write");
		rc = BATON_EUNAVAIL;
		goto out;
	}
	for (i = 0; i < n; i++)
		jset_add(s, jtis[i], exps[i]);
	j.records += n;
	my = ++j.wseq;
	while (j.sseq < my && !j.broken) {
		if (j.syncing) {
			pthread_cond_wait(&j.synced_cv, &j.lock);
			continue;
		}
		j.syncing = 1;
		target = j.wseq;
		fd = j.fd;
		pthread_mutex_unlock(&j.lock);
		sync_rc = fdatasync(fd);
		pthread_mutex_lock(&j.lock);
		j.syncing = 0;
		if (sync_rc == 0) {
			if (target > j.sseq)
				j.sseq = target;
		} else {
			log_warnx("journal sync: %s", strerror(errno));
			j.broken = 1;
		}
		pthread_cond_broadcast(&j.synced_cv);
	}
	if (j.sseq < my) {
		xasprintf(cause, "journal sync failed");
		rc = BATON_EUNAVAIL;
	}
out:
	pthread_mutex_unlock(&j.lock);
	return (rc);
}

int
journal_compact(char **cause)
{
	int	rc;

	pthread_mutex_lock(&j.lock);
	rc = compact_locked(cause);
	pthread_mutex_unlock(&j.lock);
	return (rc);
}

void
journal_counts(size_t *revoked, size_t *spent)
{
	pthread_mutex_lock(&j.lock);
	*revoked = j.sets[0].n;
	*spent = j.sets[1].n;
	pthread_mutex_unlock(&j.lock);
}
