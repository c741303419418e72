/*
 * fault-ftruncate.c: an LD_PRELOAD shim for tests.  ftruncate on a file
 * whose name ends in "/journal" fails with EIO, the way a failing disk
 * would refuse to cut a partial write off the broker's journal; every
 * other call goes through.
 */
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int	ftruncate(int, off_t);
int	ftruncate64(int, off_t);

int
ftruncate(int fd, off_t len)
{
	char	link[64], path[4096];
	ssize_t	n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n >= 8) {
		path[n] = '\0';
		if (strcmp(path + n - 8, "/journal") == 0) {
			errno = EIO;
			return (-1);
		}
	}
	return ((int)syscall(SYS_ftruncate, fd, len));
}

int
ftruncate64(int fd, off_t len)
{
	return (ftruncate(fd, len));
}
