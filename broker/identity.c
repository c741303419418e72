/*
 * identity.c: who is on the other end of a connection, from the kernel.
 *
 * SO_PEERCRED gives uid, gid and pid as of connect().  A pid alone can be
 * recycled before we read /proc, so where the kernel has SO_PEERPIDFD
 * (Linux 6.5) we take a pidfd first, read /proc/PID/exe and cgroup, and
 * then check the pidfd has not exited: a live pidfd means the pid still
 * names the same process, so what /proc said belongs to our peer.  Without
 * a pidfd the /proc facts are best effort and marked unpinned.  cmdline
 * and comm are never used: the process writes them itself.
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"

#if defined(__linux__) && !defined(SO_PEERGROUPS)
#define SO_PEERGROUPS	59	/* Linux 4.13 */
#endif
#if defined(__linux__) && !defined(SO_PEERPIDFD)
#define SO_PEERPIDFD	77	/* Linux 6.5; older kernels say ENOPROTOOPT */
#endif

static void
read_proc(pid_t pid, struct peer *p)
{
	char	path[64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
	n = readlink(path, p->exe, sizeof p->exe);
	/*
	 * readlink truncates silently: a longer path cut to 255 bytes could
	 * equal some exe= rule, so a path that fills the buffer is unknown.
	 */
	if (n <= 0 || (size_t)n >= sizeof p->exe)
		n = 0;
	p->exe[n] = '\0';

	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	p->cgroup[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		char	buf[4096], *line, *nl;

		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		/*
		 * The cgroup v2 line, "0::/path", wherever it is (hybrid
		 * systems list v1 hierarchies too).  A file or path that did
		 * not fit is unknown, never cut: a cut path could equal some
		 * cgroup= rule.
		 */
		for (line = buf; n > 0 && (size_t)n < sizeof buf - 1 &&
		    line != NULL && *line != '\0'; line = nl) {
			if ((nl = strchr(line, '\n')) == NULL)
				break;	/* no final newline: cut short */
			*nl++ = '\0';
			if (strncmp(line, "0::", 3) == 0 &&
			    strlen(line + 3) < sizeof p->cgroup) {
				memcpy(p->cgroup, line + 3,
				    strlen(line + 3) + 1);
				break;
			}
		}
	}
}

/* A pidfd polls readable once its process has exited. */
static int
pidfd_alive(int pidfd)
{
	struct pollfd	pfd = { .fd = pidfd, .events = POLLIN };

	return (poll(&pfd, 1, 0) == 0);
}

int
peer_identify(int fd, struct peer *p)
{
	struct ucred	uc;
	socklen_t	len = sizeof uc;
	int		pidfd;

	memset(p, 0, sizeof *p);
	p->pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return (BATON_EIO);
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
	/*
	 * The groups the peer holds now, as the kernel says: a process that
	 * dropped a group is not in it, whatever /etc/group lists.  More
	 * than we keep: unknown, which denies group-based admin rights.
	 */
	p->ngroups = -1;
#ifdef SO_PEERGROUPS
	len = sizeof p->groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0)
		p->ngroups = (int)(len / sizeof p->groups[0]);
#endif
#ifdef SO_PEERPIDFD
	len = sizeof pidfd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		p->pidfd = pidfd;
#endif
	if (p->pid <= 0)
		return (0);
	read_proc(p->pid, p);
	if (p->pidfd != -1) {
		if (pidfd_alive(p->pidfd))
			p->pinned = 1;
		else {
			/* Gone: what /proc said may be another process. */
			p->exe[0] = '\0';
			p->cgroup[0] = '\0';
		}
	}
	return (0);
}

void
peer_release(struct peer *p)
{
	if (p->pidfd != -1)
		close(p->pidfd);
	p->pidfd = -1;
}
