/*
 * sandbox.c: the optional seccomp filter batond installs once it has
 * started (keys read, socket bound, modules loaded).
 *
 * An allow-list of what the broker does in its steady state; anything
 * else kills the whole process with SIGSYS, so an attacker who takes
 * over a worker cannot fork, exec, ptrace, mount, load a kernel module
 * or open a raw socket with the keys in memory.  What it still allows,
 * and why:
 *
 *  - files: open, read, write, fsync, rename, unlink, ftruncate, fchmod:
 *    the journal's group commit and compaction, rotation writing keys,
 *    reload reading the configuration, agents map, stack-dir and
 *    sources, and the audit module's trails;
 *  - memory: mmap with PROT_EXEC and mprotect, for dlopen of a module
 *    named for the first time at reload; mlock and madvise, for the
 *    sodium_malloc'd key a rotation makes;
 *  - threads: clone only with CLONE_THREAD (workers, compaction, audit),
 *    never a new process; clone3 fails with ENOSYS, so glibc falls back
 *    to clone, whose flags a filter can see;
 *  - sockets: accept and recvmsg/sendmsg on the listener's connections,
 *    SO_PEERCRED, SO_PEERPIDFD and pidfd_open for identity; socket and
 *    connect for AF_UNIX (syslog, NSS through nscd or systemd-userdb, a
 *    Redis on a Unix socket), AF_INET and AF_INET6 stream and datagram
 *    only (a Redis over TCP, DNS); AF_NETLINK fails with EAFNOSUPPORT
 *    (getaddrinfo then does without it).  No bind or listen: the
 *    listener exists already;
 *  - ioctl only for TCGETS (stdio asks whether stderr is a terminal),
 *    FIONBIO and FIOCLEX; prctl only to name threads.  FIONREAD went
 *    with the last bufferevent: the workers read into their own buffer.
 *
 * Not allowed: execve, fork, kill, ptrace, process_vm_*, mount, bpf,
 * keyctl, io_uring, perf_event_open and the rest.  The exec module
 * spawns a program, which would both need fork and execve and inherit
 * the filter: a stack that uses it refuses to load under seccomp
 * (module-loader.c).
 */

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <poll.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"

#ifdef HAVE_SECCOMP
#include <seccomp.h>

/* The kernel's mask of the type in socket(2)'s second argument. */
#define SOCK_TYPE_MASK	0xf

/* Allowed whatever their arguments. */
static const char *const sandbox_calls[] = {
	/* descriptors and files */
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"preadv", "pwritev", "close", "close_range", "fstat", "newfstatat",
	"stat", "lstat", "statx", "lseek", "open", "openat", "fcntl", "dup",
	"dup3", "fsync", "fdatasync", "rename", "renameat", "renameat2",
	"unlink", "unlinkat", "ftruncate", "fchmod", "getdents64",
	"readlink", "readlinkat", "access", "faccessat", "faccessat2",
	"fstatfs", "statfs", "fadvise64", "pipe2",
	/* memory */
	"mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "mlock",
	"mlock2", "munlock",
	/* threads, signals, time */
	"futex", "set_robust_list", "get_robust_list", "rseq",
	"sched_yield", "sched_getaffinity", "gettid", "getpid", "tgkill",
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
	"exit", "exit_group", "restart_syscall", "nanosleep",
	"clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
	"time", "getrandom",
	/* event loop */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "eventfd2", "poll", "ppoll",
	"select", "pselect6", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* sockets (socket itself is filtered by family below) */
	"accept", "accept4", "recvmsg", "sendmsg", "recvfrom", "sendto",
	"recvmmsg", "sendmmsg", "shutdown", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "connect", "pidfd_open",
	/* credentials and limits */
	"getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid",
	"getresgid", "uname", "sysinfo", "getrlimit", "setrlimit",
};

static int
sandbox_rule(scmp_filter_ctx ctx, const char *name, unsigned n,
    const struct scmp_arg_cmp *a, uint32_t action, char **cause)
{
	int	nr, rc;

	/* A call this architecture does not have needs no rule. */
	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return (0);
	if ((rc = seccomp_rule_add_array(ctx, action, nr, n, a)) != 0) {
		xasprintf(cause, "seccomp: rule for %s: %s", name,
		    strerror(-rc));
		return (-1);
	}
	return (0);
}

int
sandbox_install(char **cause)
{
	static const int	 inet[] = { AF_INET, AF_INET6 };
	static const int	 types[] = { SOCK_STREAM, SOCK_DGRAM };
	static const unsigned long ioctls[] = {
		TCGETS, FIONBIO, FIOCLEX
	};
	static const int	 prctls[] = { PR_SET_NAME, PR_GET_NAME };
	scmp_filter_ctx		 ctx;
	struct scmp_arg_cmp	 a[2];
	size_t			 i, t;
	int			 rc;

	/* Kill the process, not the thread: a half-dead broker is worse. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		xasprintf(cause, "seccomp: cannot initialise a filter");
		return (-1);
	}
	/* Every thread: the journal's are running already. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		xasprintf(cause, "seccomp: thread sync: %s", strerror(-rc));
		goto fail;
	}
	/* A call through another ABI (int 0x80, x32) is no way around it. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0) {
		xasprintf(cause, "seccomp: foreign ABI: %s", strerror(-rc));
		goto fail;
	}
	for (i = 0; i < sizeof sandbox_calls / sizeof sandbox_calls[0]; i++)
		if (sandbox_rule(ctx, sandbox_calls[i], 0, NULL,
		    SCMP_ACT_ALLOW, cause) != 0)
			goto fail;
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	if (sandbox_rule(ctx, "socket", 1, a, SCMP_ACT_ALLOW, cause) != 0)
		goto fail;
	/* TCP and UDP (DNS) only: no raw sockets, whatever the privileges. */
	for (i = 0; i < sizeof inet / sizeof inet[0]; i++)
		for (t = 0; t < sizeof types / sizeof types[0]; t++) {
			a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)inet[i]);
			a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK,
			    (scmp_datum_t)types[t]);
			if (sandbox_rule(ctx, "socket", 2, a, SCMP_ACT_ALLOW,
			    cause) != 0)
				goto fail;
		}
	/*
	 * getaddrinfo's AI_ADDRCONFIG asks netlink which address families
	 * are configured, and binds that socket: bind stays forbidden, and
	 * netlink fails instead, after which glibc assumes both IPv4 and
	 * IPv6 (as under the unit's RestrictAddressFamilies=AF_UNIX).
	 */
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	if (sandbox_rule(ctx, "socket", 1, a, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	    cause) != 0)
		goto fail;
	for (i = 0; i < sizeof ioctls / sizeof ioctls[0]; i++) {
		a[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctls[i]);
		if (sandbox_rule(ctx, "ioctl", 1, a, SCMP_ACT_ALLOW,
		    cause) != 0)
			goto fail;
	}
	for (i = 0; i < sizeof prctls / sizeof prctls[0]; i++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctls[i]);
		if (sandbox_rule(ctx, "prctl", 1, a, SCMP_ACT_ALLOW,
		    cause) != 0)
			goto fail;
	}
	/* Threads only: a clone without CLONE_THREAD is a new process. */
	a[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if (sandbox_rule(ctx, "clone", 1, a, SCMP_ACT_ALLOW, cause) != 0 ||
	    sandbox_rule(ctx, "clone3", 0, NULL, SCMP_ACT_ERRNO(ENOSYS),
	    cause) != 0)
		goto fail;
	/*
	 * The journal's compaction thread lowers its own priority: to nice
	 * 19 only, which needs no privilege, so no other value is allowed.
	 */
	a[0] = SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS);
	a[1] = SCMP_A2(SCMP_CMP_EQ, JOURNAL_COMPACT_NICE);
	if (sandbox_rule(ctx, "setpriority", 2, a, SCMP_ACT_ALLOW,
	    cause) != 0)
		goto fail;
	/* Its own limits only (pid 0): reload fits descriptors to them. */
	a[0] = SCMP_A0(SCMP_CMP_EQ, 0);
	if (sandbox_rule(ctx, "prlimit64", 1, a, SCMP_ACT_ALLOW, cause) != 0)
		goto fail;
	if ((rc = seccomp_load(ctx)) != 0) {
		xasprintf(cause, "seccomp: cannot load the filter: %s",
		    strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return (0);
fail:
	seccomp_release(ctx);
	return (-1);
}

#else

int
sandbox_install(char **cause)
{
	xasprintf(cause, "seccomp: batond was built without libseccomp "
	    "(configure --with-seccomp)");
	return (-1);
}

#endif

#ifdef BATOND_TEST_BUILD
/*
 * What a module talking to a Redis over TCP does: resolve a name, open a
 * non-blocking TCP socket, connect, poll, read the error.  The filter
 * must let all of it through.
 */
static void
sandbox_test_inet(void)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	socklen_t		 len = sizeof pfd.revents;
	int			 fd, err, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo("localhost", "6379", &hints, &res)) != 0)
		fatalx("test: getaddrinfo: %s", gai_strerror(rc));
	freeaddrinfo(res);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("test: socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1);	/* nothing listens: refused */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno != EINPROGRESS && errno != ECONNREFUSED)
		fatal("test: connect");
	pfd.fd = fd;
	pfd.events = POLLOUT;
	(void)poll(&pfd, 1, 1000);
	len = sizeof err;
	(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	close(fd);
	log_warnx("test: inet calls made");
}

/*
 * The test build only: make one call the filter forbids, named by
 * BATON_TEST_FORBIDDEN, right after installing it.  tests/check_harden.c
 * expects the broker dead of SIGSYS; an unknown name is a test error.
 * "inet" is the exception: calls the filter must allow.
 */
void
sandbox_test_forbidden(const char *what)
{
	static char	 arg0[] = "true";
	char		*argv[] = { arg0, NULL }, *envp[] = { NULL };

	if (what == NULL)
		return;
	if (strcmp(what, "inet") == 0) {
		sandbox_test_inet();
		return;
	}
	log_warnx("test: forbidden call %s", what);
	if (strcmp(what, "fork") == 0)
		(void)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	else if (strcmp(what, "execve") == 0)
		(void)syscall(SYS_execve, "/bin/true", argv, envp);
	else if (strcmp(what, "ptrace") == 0)
		(void)syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(what, "socket-packet") == 0)
		(void)syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
	else if (strcmp(what, "socket-raw") == 0)
		(void)syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	else if (strcmp(what, "kill") == 0)
		(void)syscall(SYS_kill, getpid(), 0);
	else if (strcmp(what, "ioctl") == 0)
		(void)syscall(SYS_ioctl, 2, TIOCSTI, "x");
	else if (strcmp(what, "fionread") == 0)
		(void)syscall(SYS_ioctl, 2, FIONREAD, &(int){ 0 });
	else
		fatalx("test: unknown forbidden call %s", what);
	fatalx("test: forbidden call %s returned", what);
}
#endif
