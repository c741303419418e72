/*
 * trust.c: other brokers' public keys, from the bundles in trusted-keys.
 *
 * Every DIR/NAME.json (names starting with a dot are skipped, as editors'
 * and installers' temporary files) is one bundle, as `baton pubkeys --json`
 * prints it on the broker that publishes it:
 *
 *   {"kid": HEX16, "issued": T, "not_after": T,
 *    "keys": [{"kid": HEX16, "pk": HEX64, "not_after": T, ...}, ...]}
 *
 * The bundle's not_after is required: trust in its keys ends then, so a
 * publisher's rotation reaches this broker by the next bundle at the
 * latest.  An expired bundle, or a retired key past its own not_after, is
 * skipped and logged.  Anything hostile refuses the whole load (start, or
 * the reload, which keeps the keys trusted before), naming the file: a
 * directory or file others may write, a link, not a regular file, over
 * BATOND_BUNDLE_MAX bytes, bad JSON, a kid that is not its key's, the same
 * kid twice, or one of this broker's own kids (keystore_trust).
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "batond.h"

#define TRUST_MAX_FILES	256

/* Root or the broker may own it, and nobody else may write it. */
static int
trust_owner(const char *path, const struct stat *st, char **cause)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		xasprintf(cause, "%s: owned by uid %u, not root or the "
		    "broker's uid %u", path, (unsigned)st->st_uid,
		    (unsigned)geteuid());
		return (-1);
	}
	if ((st->st_mode & 022) != 0) {
		xasprintf(cause, "%s: mode %04o: group or others may write "
		    "it", path, (unsigned)(st->st_mode & 07777));
		return (-1);
	}
	return (0);
}

static char *
read_bundle(int dfd, const char *name, const char *path, size_t *lenp,
    char **cause)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	/* O_NONBLOCK: a FIFO planted here must not hang the broker. */
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "%s: %s", path, errno == ELOOP ?
		    "a symbolic link" : strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto fail;
	}
	if (trust_owner(path, &st, cause) != 0)
		goto fail;
	if (st.st_size > BATOND_BUNDLE_MAX) {
		xasprintf(cause, "%s: over %d bytes", path, BATOND_BUNDLE_MAX);
		goto fail;
	}
	buf = xmalloc(BATOND_BUNDLE_MAX + 1);
	/* the size may change under us: read to the cap plus one */
	while (len <= BATOND_BUNDLE_MAX) {
		n = read(fd, buf + len, BATOND_BUNDLE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > BATOND_BUNDLE_MAX) {
		xasprintf(cause, "%s: over %d bytes", path, BATOND_BUNDLE_MAX);
		goto fail;
	}
	close(fd);
	*lenp = len;
	return (buf);
fail:
	free(buf);
	close(fd);
	return (NULL);
}

static int
get_time(json_t *o, const char *key, int required, uint64_t *out)
{
	json_t	*v = json_object_get(o, key);

	*out = 0;
	if (v == NULL)
		return (required ? -1 : 0);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return (-1);
	*out = (uint64_t)json_integer_value(v);
	return (0);
}

static int
get_hex(json_t *o, const char *key, uint8_t *out, size_t len)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) != len * 2 || baton_unhex(out, len, s) != 0)
		return (-1);
	return (0);
}

/*
 * One bundle into ring; files[] gets the path for each key added.
 * Returns 0 (also for an expired bundle, which adds nothing) or -1.
 */
static int
load_bundle(const char *path, const char *text, size_t len, uint64_t now,
    struct baton_keyring *ring, char **files, char **cause)
{
	struct baton_key	*k;
	json_error_t		 jerr;
	json_t			*doc, *keys, *o;
	uint8_t			 pk[32], kid[BATON_KID_LEN];
	uint64_t		 until, na;
	char			 hex[BATON_KID_LEN * 2 + 1];
	size_t			 i, j, added = 0;
	int			 rc = -1;

	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		xasprintf(cause, "%s:%d: %s", path, jerr.line, jerr.text);
		return (-1);
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(keys) ||
	    json_array_size(keys) == 0 ||
	    json_array_size(keys) > BATON_KEYRING_MAX) {
		xasprintf(cause, "%s: not a key bundle: want an object with "
		    "\"keys\", an array of 1 to %d keys", path,
		    BATON_KEYRING_MAX);
		goto out;
	}
	if (get_time(doc, "not_after", 1, &until) != 0 || until == 0) {
		xasprintf(cause, "%s: \"not_after\" is required: the time "
		    "(unix seconds) trust in the bundle ends", path);
		goto out;
	}
	json_array_foreach(keys, i, o) {
		if (!json_is_object(o) || get_hex(o, "pk", pk, sizeof pk) != 0 ||
		    get_hex(o, "kid", kid, sizeof kid) != 0 ||
		    get_time(o, "not_after", 0, &na) != 0) {
			xasprintf(cause, "%s: key %zu: want \"kid\" (16 hex "
			    "digits), \"pk\" (64) and an optional "
			    "\"not_after\"", path, i);
			goto out;
		}
		if (baton_key_from_public(&k, pk) != 0)
			fatalx("baton_key_from_public");
		baton_hex(hex, kid, sizeof kid);
		if (memcmp(k->kid, kid, sizeof kid) != 0) {
			xasprintf(cause, "%s: key %zu: kid %s is not the kid "
			    "of its public key", path, i, hex);
			baton_key_free(k);
			goto out;
		}
		for (j = 0; j < ring->nkeys; j++) {
			if (memcmp(ring->keys[j]->kid, kid, sizeof kid) != 0)
				continue;
			xasprintf(cause, "%s: key %s is also in %s", path, hex,
			    files[j]);
			baton_key_free(k);
			goto out;
		}
		if (until <= now || (na != 0 && na <= now)) {
			/* checked after the rest: a hostile file stays one */
			baton_key_free(k);
			continue;
		}
		if (ring->nkeys == BATON_KEYRING_MAX) {
			xasprintf(cause, "%s: more than %d trusted keys in "
			    "all", path, BATON_KEYRING_MAX);
			baton_key_free(k);
			goto out;
		}
		k->not_after = na;
		k->trust_until = until;
		files[ring->nkeys] = xstrdup(path);
		if (baton_keyring_add(ring, k) != 0)
			fatalx("baton_keyring_add");
		added++;
	}
	if (until <= now)
		log_warnx("trusted-keys: %s expired at %llu: not trusted; "
		    "fetch a new bundle", path, (unsigned long long)until);
	else if (added < json_array_size(keys))
		log_info("trusted-keys: %s: %zu retired key(s) skipped", path,
		    json_array_size(keys) - added);
	rc = 0;
out:
	json_decref(doc);
	return (rc);
}

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Read every bundle of cfg->trusted_keys and install the keys, or refuse
 * and leave the trusted keys as they were.  Without trusted-keys, no
 * other broker's key is trusted.
 */
int
trust_load(const struct config *cfg, char **cause)
{
	struct baton_keyring	 ring;
	struct stat		 st;
	struct dirent		*de;
	DIR			*d = NULL;
	char			*names[TRUST_MAX_FILES], *files[BATON_KEYRING_MAX];
	char			*path, *text;
	const char		*dir = cfg->trusted_keys;
	uint64_t		 now = clock_now();
	size_t			 nnames = 0, len, i, nfiles = 0;
	int			 dfd, rc = -1;

	baton_keyring_init(&ring);
	memset(files, 0, sizeof files);
	if (dir == NULL)
		return (keystore_trust(&ring, files, cause));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		xasprintf(cause, "trusted-keys %s: %s", dir, errno == ENOTDIR ||
		    errno == ELOOP ? "not a directory" : strerror(errno));
		return (-1);
	}
	if (fstat(dfd, &st) != 0) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		close(dfd);
		return (-1);
	}
	if (trust_owner(dir, &st, cause) != 0) {
		close(dfd);
		return (-1);
	}
	if ((d = fdopendir(dfd)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		close(dfd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (nnames == TRUST_MAX_FILES) {
			xasprintf(cause, "trusted-keys %s: more than %d "
			    "bundles", dir, TRUST_MAX_FILES);
			goto out;
		}
		names[nnames++] = xstrdup(de->d_name);
	}
	/* the same directory always loads the same way, errors included */
	qsort(names, nnames, sizeof names[0], cmp_names);
	for (i = 0; i < nnames; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		text = read_bundle(dirfd(d), names[i], path, &len, cause);
		if (text == NULL ||
		    load_bundle(path, text, len, now, &ring, files, cause) != 0) {
			free(text);
			free(path);
			goto out;
		}
		free(text);
		free(path);
	}
	nfiles = ring.nkeys;
	if (keystore_trust(&ring, files, cause) != 0)
		goto out;
	log_info("trusted-keys %s: %zu key(s) from %zu bundle(s)", dir, nfiles,
	    nnames);
	rc = 0;
out:
	for (i = 0; i < BATON_KEYRING_MAX; i++)
		free(files[i]);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	baton_keyring_clear(&ring);
	closedir(d);
	return (rc);
}
