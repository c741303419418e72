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
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* -1 with errno when out of descriptors: what we would say is partial. */
static int
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
	} else if (errno == EMFILE || errno == ENFILE)
		return (-1);
	return (0);
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
	int		pidfd, e;

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
	else if (errno == EMFILE || errno == ENFILE)
		return (BATON_EUNAVAIL);
#endif
	if (p->pid <= 0)
		return (0);
	/*
	 * Out of descriptors, the peer would pass for a process without
	 * a pidfd or a cgroup: refuse it, it may try again, rather than
	 * judge it on half its identity.
	 */
	if (read_proc(p->pid, p) != 0) {
		e = errno;
		peer_release(p);
		errno = e;
		return (BATON_EUNAVAIL);
	}
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

/* Where cgroup v2 is mounted: the unified hierarchy, or hybrid's unified/. */
const char *
cgroup_root_default(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return ("/sys/fs/cgroup");
	if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return ("/sys/fs/cgroup/unified");
	return ("/sys/fs/cgroup");
}

/* Could uid write this?  Group bits count whatever the groups are. */
static int
writable_by(const struct stat *st, uid_t uid)
{
	return (uid == 0 || st->st_uid == uid || (st->st_mode & 022) != 0);
}

/*
 * Is cgroup PATH (as /proc/PID/cgroup names it) one that processes of uid
 * cannot put themselves into?  To join a cgroup a process needs write
 * access to its cgroup.procs, and to create one, to its parent directory;
 * a subtree delegated to a user (user@UID.service, or Delegate=yes, which
 * chowns it) is the user's to rearrange.  So: no component is a user
 * manager's, the cgroup's cgroup.procs and every directory from it up to
 * the root are neither owned by uid nor group- or world-writable.  A
 * cgroup not created yet is judged by its nearest existing ancestor,
 * which decides who may create it.  1 if protected, else 0 with why.
 */
int
cgroup_protected(const char *root, const char *path, uid_t uid, char *why,
    size_t whylen)
{
	struct stat	 st;
	char		 dir[PATH_MAX], file[PATH_MAX + 16], *slash;
	size_t		 rlen;
	int		 leaf = 1;

	if (uid == 0) {
		snprintf(why, whylen, "root can write every cgroup");
		return (0);
	}
	if (strstr(path, "/user@") != NULL) {
		snprintf(why, whylen, "%s lies in a user manager's delegated "
		    "subtree, where the user moves its own processes", path);
		return (0);
	}
	rlen = strlen(root);
	if (snprintf(dir, sizeof dir, "%s%s", root, path) >= (int)sizeof dir ||
	    strstr(path, "/..") != NULL) {
		snprintf(why, whylen, "%s: not a usable cgroup path", path);
		return (0);
	}
	while (strlen(dir) > rlen && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	for (;;) {
		if (stat(dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(why, whylen, "%s is not a cgroup "
				    "directory", dir);
				return (0);
			}
			if (writable_by(&st, uid)) {
				snprintf(why, whylen, "uid %u can write %s "
				    "(owner %u, mode %04o)", (unsigned)uid, dir,
				    (unsigned)st.st_uid,
				    (unsigned)(st.st_mode & 07777));
				return (0);
			}
			snprintf(file, sizeof file, "%s/cgroup.procs", dir);
			if (leaf && stat(file, &st) == 0 &&
			    writable_by(&st, uid)) {
				snprintf(why, whylen, "uid %u can write %s "
				    "(owner %u, mode %04o)", (unsigned)uid, file,
				    (unsigned)st.st_uid,
				    (unsigned)(st.st_mode & 07777));
				return (0);
			}
			leaf = 0;
		} else if (errno != ENOENT) {
			snprintf(why, whylen, "%s: %s", dir, strerror(errno));
			return (0);
		}
		if (strlen(dir) <= rlen)
			break;
		if ((slash = strrchr(dir + rlen, '/')) == NULL)
			break;
		*slash = '\0';
		if (strlen(dir) < rlen)
			break;
	}
	return (1);
}

void
peer_release(struct peer *p)
{
	if (p->pidfd != -1)
		close(p->pidfd);
	p->pidfd = -1;
}
