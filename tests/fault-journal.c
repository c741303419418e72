/*
 * fault-journal.c: an LD_PRELOAD shim for tests that makes the disk
 * under the broker's journal misbehave.  Only calls on a file whose name
 * ends in "/journal" (or, for BATON_FAULT_SYNC_EIO, "/journal.tmp") are
 * touched, and only as the environment asks:
 *   BATON_FAULT_FTRUNCATE	ftruncate fails with EIO (a partial write
 *				cannot be cut off)
 *   BATON_FAULT_SYNC_MS=N	fdatasync takes N milliseconds longer
 *   BATON_FAULT_SYNC_EIO=PATH	fsync and fdatasync fail with EIO for as
 *				long as the file PATH exists (a disk
 *				failing, then replaced or back)
 *   BATON_FAULT_FSYNC_MS=N	fsync and fdatasync of any file take N
 *				milliseconds longer
 */
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int	ftruncate(int, off_t);
int	ftruncate64(int, off_t);
int	fdatasync(int);
int	fsync(int);

/* Does the name of the file behind fd end in suffix? */
static int
fd_named(int fd, const char *suffix)
{
	char	link[64], path[4096];
	size_t	len = strlen(suffix);
	ssize_t	n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n < (ssize_t)len)
		return (0);
	path[n] = '\0';
	return (strcmp(path + n - len, suffix) == 0);
}

static int
is_journal(int fd)
{
	return (fd_named(fd, "/journal"));
}

/* BATON_FAULT_SYNC_EIO: should a sync of fd fail now? */
static int
sync_fails(int fd)
{
	const char	*flag = getenv("BATON_FAULT_SYNC_EIO");

	if (flag == NULL || access(flag, F_OK) != 0)
		return (0);
	return (is_journal(fd) || fd_named(fd, "/journal.tmp"));
}

int
ftruncate(int fd, off_t len)
{
	if (getenv("BATON_FAULT_FTRUNCATE") != NULL && is_journal(fd)) {
		errno = EIO;
		return (-1);
	}
	return ((int)syscall(SYS_ftruncate, fd, len));
}

int
ftruncate64(int fd, off_t len)
{
	return (ftruncate(fd, len));
}

int
fdatasync(int fd)
{
	struct timespec	 ts;
	const char	*ms;

	if (((ms = getenv("BATON_FAULT_SYNC_MS")) != NULL && is_journal(fd)) ||
	    (ms = getenv("BATON_FAULT_FSYNC_MS")) != NULL) {
		ts.tv_sec = atoi(ms) / 1000;
		ts.tv_nsec = (long)(atoi(ms) % 1000) * 1000000;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (sync_fails(fd)) {
		errno = EIO;
		return (-1);
	}
	return ((int)syscall(SYS_fdatasync, fd));
}

int
fsync(int fd)
{
	struct timespec	 ts;
	const char	*ms;

	if (sync_fails(fd)) {
		errno = EIO;
		return (-1);
	}
	if ((ms = getenv("BATON_FAULT_FSYNC_MS")) != NULL) {
		ts.tv_sec = atoi(ms) / 1000;
		ts.tv_nsec = (long)(atoi(ms) % 1000) * 1000000;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	return ((int)syscall(SYS_fsync, fd));
}
