/*
 * keystore.c: the broker's signing keys on disk and in memory.
 *
 * STATE/keys must be a directory of mode 0700 and every key file 0600, all
 * owned by the broker's uid; anything else refuses start, since a key
 * others can read or replace is no key.  A key file KIDHEX.key is 52
 * bytes: "BTK1" | u64be created | u64be not_after (0: signing) | seed[32],
 * written atomically (tmp, fsync, rename, fsync dir).
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "batond.h"

#define KEY_MAGIC	"BTK1"
#define KEY_FILE_LEN	(4 + 8 + 8 + BATON_SEED_LEN)

static pthread_rwlock_t		 ks_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct baton_keyring	 ks_ring;
/* Other brokers' public keys (trust.c), searched after ks_ring's own. */
static struct baton_keyring	 ks_trust;
static uint64_t			 ks_created[BATON_KEYRING_MAX];
/*
 * Bumped with every change of the ring, its keys or the trusted keys:
 * what baton_token_open decided under one generation holds for as long as
 * it lasts (tokcache.c).  Written under the write lock only, read under
 * the read lock.
 */
static uint64_t			 ks_gen = 1;
static char			*ks_dir;

/* Every write lock bumps the generation: no change can forget to. */
static void
ks_wrlock(void)
{
	pthread_rwlock_wrlock(&ks_lock);
	ks_gen++;
}

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

static int
check_owner(const char *path, const struct stat *st, mode_t mode,
    char **cause)
{
	if (st->st_uid != geteuid()) {
		xasprintf(cause, "%s: owned by uid %u, not the broker's uid "
		    "%u", path, (unsigned)st->st_uid, (unsigned)geteuid());
		return (-1);
	}
	if ((st->st_mode & 07777) != mode) {
		xasprintf(cause, "%s: mode %04o, must be %04o", path,
		    (unsigned)(st->st_mode & 07777), (unsigned)mode);
		return (-1);
	}
	return (0);
}

/* fsync the keys directory, so names created or removed stay so. */
static int
sync_dir(char **cause)
{
	int	fd, rc = 0;

	if ((fd = open(ks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) != 0) {
		xasprintf(cause, "fsync %s: %s", ks_dir, strerror(errno));
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	return (rc);
}

static int
key_write(const struct baton_key *k, uint64_t created, char **cause)
{
	uint8_t	 buf[KEY_FILE_LEN];
	char	 hex[BATON_KID_LEN * 2 + 1], *path, *tmp;
	int	 fd, rc = -1;

	baton_hex(hex, k->kid, BATON_KID_LEN);
	xasprintf(&path, "%s/%s.key", ks_dir, hex);
	xasprintf(&tmp, "%s/.%s.tmp", ks_dir, hex);
	memcpy(buf, KEY_MAGIC, 4);
	put64(buf + 4, created);
	put64(buf + 12, k->not_after);
	memcpy(buf + 20, baton_key_seed(k), BATON_SEED_LEN);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || fchmod(fd, 0600) != 0 ||
	    write(fd, buf, sizeof buf) != (ssize_t)sizeof buf ||
	    fsync(fd) != 0 || rename(tmp, path) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	close(fd);	/* else each write leaks an fd on the key file */
	fd = -1;
	/* Unsynced, the new name could vanish in a crash with its key. */
	rc = sync_dir(cause);
out:
	if (fd != -1)
		close(fd);
	sodium_memzero(buf, sizeof buf);
	free(path);
	free(tmp);
	return (rc);
}

static int
key_read(int dfd, const char *name, const char *path, struct baton_key **kp,
    uint64_t *created, char **cause)
{
	struct stat	 st;
	uint8_t		 buf[KEY_FILE_LEN + 1];
	ssize_t		 n;
	int		 fd, rc = -1;

	/* O_NONBLOCK: a FIFO planted here must not hang the start. */
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto out;
	}
	if (check_owner(path, &st, 0600, cause) != 0)
		goto out;
	n = read(fd, buf, sizeof buf);
	if (n != KEY_FILE_LEN || memcmp(buf, KEY_MAGIC, 4) != 0) {
		xasprintf(cause, "%s: not a baton key file", path);
		goto out;
	}
	if (baton_key_from_seed(kp, buf + 20) != 0) {
		xasprintf(cause, "%s: cannot load key", path);
		goto out;
	}
	*created = get64(buf + 4);
	(*kp)->not_after = get64(buf + 12);
	rc = 0;
out:
	sodium_memzero(buf, sizeof buf);
	close(fd);
	return (rc);
}

/* Make the newest key without an end the signer.  Write-locked. */
static void
pick_signer(void)
{
	size_t	i, best = SIZE_MAX;

	for (i = 0; i < ks_ring.nkeys; i++) {
		ks_ring.keys[i]->can_sign = 0;
		if (ks_ring.keys[i]->not_after != 0)
			continue;
		if (best == SIZE_MAX || ks_created[i] > ks_created[best])
			best = i;
	}
	if (best != SIZE_MAX) {
		ks_ring.signer = best;
		ks_ring.keys[best]->can_sign = 1;
	} else
		ks_ring.signer = SIZE_MAX;
}

static int
add_key(struct baton_key *k, uint64_t created, char **cause)
{
	size_t	n = ks_ring.nkeys;

	/* baton_keyring_add frees the key when it refuses it. */
	if (baton_keyring_add(&ks_ring, k) != 0) {
		xasprintf(cause, "keyring full (%d keys) or duplicate key",
		    BATON_KEYRING_MAX);
		return (-1);
	}
	ks_created[n] = created;
	return (0);
}

static int
new_key(uint64_t now, uint8_t *kid, char **cause)
{
	struct baton_key	*k;

	if (baton_key_generate(&k) != 0) {
		xasprintf(cause, "cannot generate a key");
		return (-1);
	}
	k->not_after = 0;
	if (key_write(k, now, cause) != 0) {
		baton_key_free(k);
		return (-1);
	}
	if (kid != NULL)
		memcpy(kid, k->kid, BATON_KID_LEN);
	if (add_key(k, now, cause) != 0)
		return (-1);
	pick_signer();
	return (0);
}

int
keystore_open(const char *state_dir, uint64_t max_ttl, char **cause)
{
	struct stat		 st;
	struct dirent		*de;
	struct baton_key	*k;
	DIR			*d;
	char			*path;
	uint64_t		 created, now = clock_now();
	size_t			 len;
	int			 dfd, rc = -1;

	(void)max_ttl;
	baton_keyring_init(&ks_ring);
	ks_ring.next = &ks_trust;
	ks_gen++;	/* before the workers start: no lock yet */
	xasprintf(&ks_dir, "%s/keys", state_dir);
	if (mkdir(ks_dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", ks_dir, strerror(errno));
		return (-1);
	}
	/*
	 * Check the directory we then read, not a path that could be
	 * swapped between a stat and the opendir: open it without following
	 * a link, fstat that descriptor, and open the keys relative to it.
	 */
	if ((dfd = open(ks_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", ks_dir, errno == ENOTDIR ||
		    errno == ELOOP ? "not a directory" : strerror(errno));
		return (-1);
	}
	if (fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: not a directory", ks_dir);
		close(dfd);
		return (-1);
	}
	if (check_owner(ks_dir, &st, 0700, cause) != 0) {
		close(dfd);
		return (-1);
	}
	if ((d = fdopendir(dfd)) == NULL) {
		xasprintf(cause, "%s: %s", ks_dir, strerror(errno));
		close(dfd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len != BATON_KID_LEN * 2 + 4 ||
		    strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		xasprintf(&path, "%s/%s", ks_dir, de->d_name);
		if (key_read(dfd, de->d_name, path, &k, &created,
		    cause) != 0) {
			free(path);
			goto out;
		}
		if (k->not_after != 0 && k->not_after < now) {
			/* Every token it signed has expired. */
			log_info("key %s retired", de->d_name);
			baton_key_free(k);
			unlinkat(dfd, de->d_name, 0);
			free(path);
			continue;
		}
		free(path);
		if (add_key(k, created, cause) != 0)
			goto out;
	}
	pick_signer();
	if (ks_ring.signer == SIZE_MAX) {
		log_info("no signing key in %s: generating one", ks_dir);
		if (new_key(now, NULL, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	closedir(d);
	return (rc);
}

/* Drop key i from the ring, and its file when unlink_file is set. */
static int
drop_key(size_t i, int unlink_file, char **cause)
{
	char	 hex[BATON_KID_LEN * 2 + 1], *path;
	size_t	 o;
	int	 rc = 0;

	baton_hex(hex, ks_ring.keys[i]->kid, BATON_KID_LEN);
	if (unlink_file) {
		xasprintf(&path, "%s/%s.key", ks_dir, hex);
		if (unlink(path) != 0 && errno != ENOENT) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		free(path);
		if (rc != 0)
			return (rc);
	}
	baton_key_free(ks_ring.keys[i]);
	for (o = i; o + 1 < ks_ring.nkeys; o++) {
		ks_ring.keys[o] = ks_ring.keys[o + 1];
		ks_created[o] = ks_created[o + 1];
	}
	ks_ring.nkeys--;
	return (0);
}

/*
 * A new signing key.  Normally the old one verifies until now + max_ttl
 * (plus leeway), past the end of every token it signed.  In an emergency
 * (the key or the state directory was exposed) every older key is
 * distrusted at once: removed from memory and from disk, so each token
 * they signed stops verifying, including tokens forged with them.
 */
int
keystore_rotate(uint64_t max_ttl, int emergency, uint8_t *kid,
    size_t *ndropped, char **cause)
{
	static pthread_mutex_t	 rotating = PTHREAD_MUTEX_INITIALIZER;
	struct baton_key	*old = NULL, *k = NULL;
	uint64_t		 now = clock_now(), forget = clock_forget();
	uint64_t		 old_created = 0;
	uint8_t			 nkid[BATON_KID_LEN];
	char			 hex[BATON_KID_LEN * 2 + 1], *path;
	size_t			 i, o, live = 0;
	int			 rc = -1, locked = 0, sync = 0, unwrite = 0;

	if (ndropped != NULL)
		*ndropped = 0;
	/*
	 * Every verify takes ks_lock to read: hold it only for memory work.
	 * The new key is generated and written (fsync, rename, directory
	 * sync) before it, the old key's new end and the directory after;
	 * rotations are serialised by a lock of their own, so the old key
	 * is still there then (only rotation frees keys).
	 */
	pthread_mutex_lock(&rotating);
	/* Room for one more, once the expired keys go?  Only we change it. */
	pthread_rwlock_rdlock(&ks_lock);
	for (i = 0; i < ks_ring.nkeys; i++)
		live += ks_ring.keys[i]->not_after == 0 ||
		    ks_ring.keys[i]->not_after >= forget;
	pthread_rwlock_unlock(&ks_lock);
	if (live >= BATON_KEYRING_MAX) {
		xasprintf(cause, "keyring full: %d keys still verifying",
		    BATON_KEYRING_MAX);
		goto out;
	}
	if (baton_key_generate(&k) != 0) {
		xasprintf(cause, "cannot generate a key");
		goto out;
	}
	k->not_after = 0;
	memcpy(nkid, k->kid, sizeof nkid);
	if (key_write(k, now, cause) != 0)
		goto out;
	ks_wrlock();
	locked = 1;
	/* Forget keys that can no longer verify anything. */
	for (i = 0; i < ks_ring.nkeys; ) {
		if (ks_ring.keys[i]->not_after != 0 &&
		    ks_ring.keys[i]->not_after < forget)
			(void)drop_key(i, 0, cause);
		else
			i++;
	}
	pick_signer();
	o = ks_ring.signer;
	if (o != SIZE_MAX) {
		old = ks_ring.keys[o];
		old_created = ks_created[o];
		old->not_after = now + max_ttl + BATOND_LEEWAY;
	}
	if (add_key(k, now, cause) != 0) {	/* frees k */
		k = NULL;
		if (old != NULL)
			old->not_after = 0;
		old = NULL;
		pick_signer();
		unwrite = 1;
		goto out;
	}
	if (kid != NULL)
		memcpy(kid, k->kid, BATON_KID_LEN);
	k = NULL;
	pick_signer();
	if (emergency) {
		/*
		 * The new key is on disk and signing; now every other key
		 * goes.  A file that cannot be removed would come back at
		 * the next start: refuse, and say so, keeping it out of
		 * memory meanwhile (fail closed).
		 */
		for (i = 0; i < ks_ring.nkeys; ) {
			if (ks_ring.keys[i]->can_sign) {
				i++;
				continue;
			}
			if (drop_key(i, 1, cause) != 0) {
				ks_ring.keys[i]->not_after = 1;
				pick_signer();
				goto out;
			}
			if (ndropped != NULL)
				(*ndropped)++;
		}
		pick_signer();
		sync = 1;
	}
	rc = 0;
out:
	if (locked)
		pthread_rwlock_unlock(&ks_lock);
	if (unwrite) {
		/* The new key never signed: its file goes too. */
		baton_hex(hex, nkid, BATON_KID_LEN);
		xasprintf(&path, "%s/%s.key", ks_dir, hex);
		(void)unlink(path);
		free(path);
	}
	if (rc == 0 && sync)
		rc = sync_dir(cause);
	else if (rc == 0 && !emergency && old != NULL &&
	    key_write(old, old_created, cause) != 0) {
		/* If this fails the old key just never retires from disk. */
		log_warnx("rotate: %s", *cause);
		free(*cause);
		*cause = NULL;
	}
	pthread_mutex_unlock(&rotating);
	baton_key_free(k);
	return (rc);
}

void
keystore_pack(msgpack_packer *pk)
{
	const struct baton_key	*k;
	size_t			 i;

	pthread_rwlock_rdlock(&ks_lock);
	msgpack_pack_array(pk, ks_ring.nkeys);
	for (i = 0; i < ks_ring.nkeys; i++) {
		k = ks_ring.keys[i];
		msgpack_pack_map(pk, 4);
		baton_pack_str(pk, "kid");
		baton_pack_bin(pk, k->kid, BATON_KID_LEN);
		baton_pack_str(pk, "created");
		msgpack_pack_uint64(pk, ks_created[i]);
		baton_pack_str(pk, "not_after");
		msgpack_pack_uint64(pk, k->not_after);
		baton_pack_str(pk, "signing");
		baton_pack_bool(pk, k->can_sign);
	}
	pthread_rwlock_unlock(&ks_lock);
}

void
keystore_close(void)
{
	ks_wrlock();
	baton_keyring_clear(&ks_ring);
	baton_keyring_clear(&ks_trust);
	free(ks_dir);
	ks_dir = NULL;
	pthread_rwlock_unlock(&ks_lock);
}

const struct baton_keyring *
keystore_lock(void)
{
	pthread_rwlock_rdlock(&ks_lock);
	return (&ks_ring);
}

/* keystore_lock, and the generation of what it returns. */
const struct baton_keyring *
keystore_lock_gen(uint64_t *gen)
{
	pthread_rwlock_rdlock(&ks_lock);
	*gen = ks_gen;
	return (&ks_ring);
}

void
keystore_unlock(void)
{
	pthread_rwlock_unlock(&ks_lock);
}

/*
 * Replace the trusted keys with those of nr, whose keys it takes (nr is
 * left empty), or refuse and keep the old ones.  files[i] names the
 * bundle key i came from, for the message.  A bundle that claims one of
 * this broker's own kids is refused: its tokens must verify by this
 * broker's own key and its retirement rules, never by a copy.
 */
int
keystore_trust(struct baton_keyring *nr, char **files, char **cause)
{
	char	hex[BATON_KID_LEN * 2 + 1];
	size_t	i, j;

	ks_wrlock();
	for (i = 0; i < nr->nkeys; i++) {
		for (j = 0; j < ks_ring.nkeys; j++) {
			if (memcmp(nr->keys[i]->kid, ks_ring.keys[j]->kid,
			    BATON_KID_LEN) != 0)
				continue;
			baton_hex(hex, nr->keys[i]->kid, BATON_KID_LEN);
			xasprintf(cause, "%s: key %s is this broker's own key",
			    files[i], hex);
			pthread_rwlock_unlock(&ks_lock);
			return (-1);
		}
	}
	baton_keyring_clear(&ks_trust);
	ks_trust = *nr;
	ks_trust.next = NULL;
	ks_ring.next = &ks_trust;
	baton_keyring_init(nr);
	pthread_rwlock_unlock(&ks_lock);
	return (0);
}
