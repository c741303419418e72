/*
 * check_stack.c: the stack runner and the module loader in process.
 *
 * The control semantics are a table: each row is a stack, what Linux-PAM
 * answers for the same stack (pam_dispatch.c, pam.conf(5)), and what
 * baton answers, with the lines that ran.  Where the two differ on
 * purpose (a missing module, ".." in a name) baton refuses the whole
 * configuration, and the row says so.
 */

#include <sys/stat.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "batond.h"
#include "plugin-util.h"

/* What the broker around stack.c provides, reduced to what it uses. */
struct broker broker = { .lock = PTHREAD_RWLOCK_INITIALIZER };

struct config *
broker_config(void)
{
	pthread_rwlock_rdlock(&broker.lock);
	return (broker.cfg);
}

void
broker_config_release(void)
{
	pthread_rwlock_unlock(&broker.lock);
}

static uint64_t fake_usec = 1000000;

uint64_t
clock_usec(void)
{
	return (fake_usec);
}

/* What host->count would bump. */
static char	last_counted[64];

void
metrics_count(const char *name)
{
	snprintf(last_counted, sizeof last_counted, "%s", name);
}

static char	moddir[256], stackdir[256];
static struct config cfg;

static void
setup(void)
{
	pu_moddir(moddir, sizeof moddir);
	setenv("BATON_TEST_MODULE_DIR", moddir, 1);
	pu_tmpdir(stackdir, sizeof stackdir);
	pu_mkdir(stackdir, "verify.d");
	pu_mkdir(stackdir, "issue.d");
	memset(&cfg, 0, sizeof cfg);
	cfg.stack_dir = stackdir;
	broker.cfg = &cfg;
}

static void
teardown(void)
{
	pu_rmrf(moddir);
	pu_rmrf(stackdir);
}

/* Load the stacks; NULL on success, else the (malloc'd) cause. */
static char *
load(void)
{
	char	*cause = NULL;

	if (stacks_load(&cfg, &cause) != 0) {
		ck_assert_ptr_nonnull(cause);
		return (cause);
	}
	return (NULL);
}

static void
write_verify(const char *name, const char *text)
{
	char	dir[300];

	snprintf(dir, sizeof dir, "%s/verify.d", stackdir);
	pu_write(dir, name, text);
}

/* Run verify.d/default for a verify decision; the trace joined by '|'. */
static enum authz_result
run(char *why, size_t whylen, char *ran, size_t ranlen)
{
	struct decision		 d;
	struct peer		 p;
	struct trace		 t = { NULL, 0 };
	enum authz_result	 r;
	size_t			 i;

	memset(&d, 0, sizeof d);
	memset(&p, 0, sizeof p);
	d.service = "default";
	d.op = BATON_OP_VERIFY;
	d.peer = &p;
	d.why = why;
	d.whylen = whylen;
	d.trace = &t;
	why[0] = '\0';
	r = stacks_authorize(&d);
	ran[0] = '\0';
	for (i = 0; i < t.n; i++) {
		/* Keep "FILE:LINE" of each module line that ran. */
		const char *c = strstr(t.lines[i], ": ");

		if (c == NULL || strstr(t.lines[i], " include ") != NULL ||
		    strchr(t.lines[i], '(') == NULL ||
		    strstr(t.lines[i], ": deny (no") != NULL)
			continue;
		snprintf(ran + strlen(ran), ranlen - strlen(ran), "%s%.*s",
		    ran[0] != '\0' ? " " : "", (int)(c - t.lines[i]),
		    t.lines[i]);
	}
	trace_free(&t);
	return (r);
}

#define OK	"ok"
#define DENY	"deny"
#define ERR	"error"

static const struct {
	const char	*what;
	const char	*stack;		/* verify.d/default */
	const char	*sub;		/* verify.d/sub, or NULL */
	const char	*linux_pam;	/* what Linux-PAM answers */
	const char	*baton;		/* OK, DENY, ERR */
	const char	*ran;		/* the module lines that ran */
} controls[] = {
	{ "one required success",
	  "required answer answer=ok\n", NULL,
	  "PAM_SUCCESS", OK, "verify.d/default:1" },
	{ "one required failure",
	  "required answer answer=deny\n", NULL,
	  "the module's failure", DENY, "verify.d/default:1" },
	{ "all IGNORE: nothing allowed, so nothing is",
	  "required answer answer=ignore\noptional answer answer=ignore\n",
	  NULL, "PAM_PERM_DENIED (the dispatcher's must-fail default)",
	  DENY, "verify.d/default:1 verify.d/default:2" },
	{ "comments only: an empty stack denies",
	  "# nothing here\n\n", NULL,
	  "PAM_PERM_DENIED", DENY, "" },
	{ "pitfall: sufficient after a failed required does not rescue it, "
	  "and the stack goes on",
	  "required answer answer=deny\nsufficient permit\n"
	  "required answer answer=ok\n", NULL,
	  "the required module's failure; all three run", DENY,
	  "verify.d/default:1 verify.d/default:2 verify.d/default:3" },
	{ "pitfall: requisite stops at once",
	  "requisite answer answer=deny\nrequired answer answer=ok\n", NULL,
	  "the requisite module's failure; the second never runs", DENY,
	  "verify.d/default:1" },
	{ "the first failure is the answer; requisite still stops",
	  "required answer answer=error\nrequisite answer answer=deny\n"
	  "required permit\n", NULL,
	  "the first failure (PAM_SYSTEM_ERR); the third never runs", ERR,
	  "verify.d/default:1 verify.d/default:2" },
	{ "sufficient success ends a clean stack",
	  "sufficient permit\nrequired deny\n", NULL,
	  "PAM_SUCCESS; the second never runs", OK, "verify.d/default:1" },
	{ "sufficient after a passed required ends it",
	  "required permit\nsufficient permit\nrequired deny\n", NULL,
	  "PAM_SUCCESS; the third never runs", OK,
	  "verify.d/default:1 verify.d/default:2" },
	{ "a sufficient failure is ignored",
	  "sufficient answer answer=deny\nrequired permit\n", NULL,
	  "PAM_SUCCESS", OK, "verify.d/default:1 verify.d/default:2" },
	{ "a sufficient error is ignored too",
	  "sufficient answer answer=error\nrequired permit\n", NULL,
	  "PAM_SUCCESS", OK, "verify.d/default:1 verify.d/default:2" },
	{ "optional failure with a required success",
	  "optional deny\nrequired permit\n", NULL,
	  "PAM_SUCCESS", OK, "verify.d/default:1 verify.d/default:2" },
	{ "an optional failure alone: nothing allowed",
	  "optional deny\n", NULL,
	  "PAM_PERM_DENIED (optional matters only when alone: it is "
	  "ignored, and nothing succeeded)", DENY, "verify.d/default:1" },
	{ "an optional success alone allows",
	  "optional permit\n", NULL, "PAM_SUCCESS", OK, "verify.d/default:1" },
	{ "ERROR fails closed",
	  "required answer answer=error\n", NULL,
	  "PAM_SYSTEM_ERR", ERR, "verify.d/default:1" },
	{ "IGNORE from a required module does not count",
	  "required answer answer=ignore\nrequired permit\n", NULL,
	  "PAM_SUCCESS", OK, "verify.d/default:1 verify.d/default:2" },
	{ "substack: requisite inside ends only the substack",
	  "include sub\nrequired answer answer=ok\n",
	  "requisite deny\nrequired permit\n",
	  "substack: failure; the parent's second line still runs", DENY,
	  "verify.d/sub:1 verify.d/default:2" },
	{ "substack: sufficient inside ends only the substack",
	  "include sub\nrequired deny\n",
	  "sufficient permit\nrequired deny\n",
	  "substack: the parent's required deny decides (with \"include\" "
	  "instead of \"substack\" Linux-PAM would stop at sufficient and "
	  "allow)", DENY, "verify.d/sub:1 verify.d/default:2" },
	{ "substack: its success counts in the parent",
	  "include sub\n", "required permit\n",
	  "PAM_SUCCESS", OK, "verify.d/sub:1" },
	{ "substack: a success after it is not undone",
	  "include sub\nsufficient permit\nrequired deny\n",
	  "required answer answer=ok\n",
	  "PAM_SUCCESS; the last never runs", OK,
	  "verify.d/sub:1 verify.d/default:2" },
};

START_TEST(test_controls)
{
	char			*cause, why[256], ran[1024];
	const char		*want = controls[_i].baton;
	enum authz_result	 r;

	setup();
	write_verify("default", controls[_i].stack);
	if (controls[_i].sub != NULL)
		write_verify("sub", controls[_i].sub);
	cause = load();
	ck_assert_msg(cause == NULL, "%s: %s", controls[_i].what, cause);
	r = run(why, sizeof why, ran, sizeof ran);
	ck_assert_msg(strcmp(want, r == AUTHZ_OK ? OK : r == AUTHZ_DENY ?
	    DENY : r == AUTHZ_ERROR ? ERR : "ignore") == 0,
	    "%s: baton answered %d, wants %s (Linux-PAM: %s)",
	    controls[_i].what, r, want, controls[_i].linux_pam);
	ck_assert_msg(strcmp(ran, controls[_i].ran) == 0,
	    "%s: ran \"%s\", wants \"%s\"", controls[_i].what, ran,
	    controls[_i].ran);
	if (r != AUTHZ_OK)
		ck_assert_msg(why[0] != '\0', "%s: no reason", controls[_i].what);
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

/* The reason names the first failing line and its module's reason. */
START_TEST(test_reason)
{
	char	why[256], ran[256];

	setup();
	write_verify("default", "required permit\n# two\n"
	    "required answer answer=deny\nrequired deny\n");
	ck_assert_ptr_null(load());
	ck_assert_int_eq(run(why, sizeof why, ran, sizeof ran), AUTHZ_DENY);
	ck_assert_str_eq(why, "verify.d/default:3: answer: told to deny");
	stacks_release(cfg.stacks);

	write_verify("default", "optional answer answer=ignore\n");
	ck_assert_ptr_null(load());
	ck_assert_int_eq(run(why, sizeof why, ran, sizeof ran), AUTHZ_DENY);
	ck_assert_str_eq(why, "verify.d/default: no module allowed");
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

/* Audience stacks first, then default; without any, IGNORE (as before). */
START_TEST(test_lookup)
{
	struct decision	d;
	struct peer	p;
	char		why[256] = "";

	setup();
	memset(&d, 0, sizeof d);
	memset(&p, 0, sizeof p);
	d.peer = &p;
	d.why = why;
	d.whylen = sizeof why;
	d.op = BATON_OP_VERIFY;
	d.service = "db";
	ck_assert_ptr_null(load());
	ck_assert_ptr_null(cfg.stacks);
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_IGNORE);

	write_verify("db", "required deny\n");
	ck_assert_ptr_null(load());
	ck_assert_ptr_nonnull(cfg.stacks);
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_DENY);
	d.service = "mail";	/* no verify.d/mail, no default */
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_IGNORE);
	d.op = BATON_OP_MINT;
	d.service = "issue";	/* no issue.d/default */
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_IGNORE);
	stacks_release(cfg.stacks);

	write_verify("default", "required permit\n");
	{
		char dir[300];

		snprintf(dir, sizeof dir, "%s/issue.d", stackdir);
		pu_write(dir, "default", "required deny\n");
	}
	ck_assert_ptr_null(load());
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_DENY);
	d.op = BATON_OP_VERIFY;
	d.service = "mail";
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_OK);
	d.service = "db";
	ck_assert_int_eq(stacks_authorize(&d), AUTHZ_DENY);
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

/*
 * Configurations refused whole, with file and line.  The Linux-PAM
 * column says what PAM would have done with the same line.
 */
static const struct {
	const char	*stack;
	const char	*linux_pam;
	const char	*msg;
} refused[] = {
	{ "required permit\noptional nosuch\n",
	  "a missing optional module is skipped at run time (the typo "
	  "passes)", "verify.d/default:2: module nosuch: " },
	{ "required ../tmp/answer\n",
	  "loads the path relative to the module directory",
	  "verify.d/default:1: module ../tmp/answer: bad module name" },
	{ "required /tmp/answer.so\n",
	  "loads any absolute path",
	  "verify.d/default:1: module /tmp/answer.so: bad module name" },
	{ "required answer.so\n", "loads answer.so",
	  "verify.d/default:1: module answer.so: bad module name" },
	{ "required answer answer=maybe\n",
	  "the module decides at run time",
	  "verify.d/default:1: answer: bad argument \"answer=maybe\"" },
	{ "required permit extra\n", "the module ignores it",
	  "verify.d/default:1: permit: takes no arguments (got \"extra\")" },
	{ "required deny extra\n", "the module ignores it",
	  "verify.d/default:1: deny: takes no arguments (got \"extra\")" },
	/* found by fuzz_stack: 32 arguments wrote a NULL past the words */
	{ "required deny 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
	  "17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32\n", "n/a",
	  "verify.d/default:1: deny: takes no arguments (got \"1\")" },
	{ "required deny 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
	  "17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33\n", "n/a",
	  "verify.d/default:1: more than 32 arguments" },
	{ "\n\nmandatory permit\n", "the line is skipped with a log entry",
	  "verify.d/default:3: unknown control \"mandatory\"" },
	{ "required\n", "the line is skipped",
	  "verify.d/default:1: required: no module named" },
	{ "include nothere\n", "the include is skipped",
	  "verify.d/default:1: include: verify.d/nothere: no such file" },
	{ "include default\n", "recursion up to a fixed depth",
	  "include: nested more than 8 deep" },
	{ "include ../default\n", "path outside the directory",
	  "verify.d/default:1: include: expected one bare file name" },
	{ "required badmagic\n", "n/a",
	  "/badmagic.so: bad magic 0xdeadbeef" },
	{ "required badabi\n", "n/a",
	  "/badabi.so: module ABI 2, this broker speaks 1" },
	{ "required badsize\n", "n/a",
	  "/badsize.so: descriptor size 8, expected at least" },
	{ "required extrasym\n", "n/a",
	  "/extrasym.so: exports \"answer_extra\": a module exports only "
	  "baton_module_entry" },
	{ "required policy\n", "n/a",
	  "verify.d/default:1: policy: rules=/ABSOLUTE/PATH is required" },
	{ "required policy rules=relative\n", "n/a",
	  "verify.d/default:1: policy: bad argument \"rules=relative\"" },
	{ "required policy rules=/nonexistent/rules\n", "n/a",
	  "verify.d/default:1: policy: /nonexistent/rules: No such file" },
	{ "optional audit\n", "n/a",
	  "verify.d/default:1: audit: file=/ABSOLUTE/PATH is required" },
	{ "optional audit file=/nonexistent/dir/log\n", "n/a",
	  "verify.d/default:1: audit: /nonexistent/dir/log: No such file" },
	{ "optional audit file=/tmp/a file=/tmp/b\n", "n/a",
	  "audit: bad argument \"file=/tmp/b\"" },
	{ "required ratelimit\n", "n/a", "verify.d/default:1: ratelimit: "
	  "key=agent|tool|audience|subject and rate=N/s|N/m|N/h are required" },
	{ "required ratelimit key=agent\n", "n/a", "are required" },
	{ "required ratelimit key=colour rate=5/s\n", "n/a",
	  "ratelimit: bad or repeated argument \"key=colour\"" },
	{ "required ratelimit key=agent rate=5/d\n", "n/a",
	  "ratelimit: bad or repeated argument \"rate=5/d\"" },
	/* found by fuzz_modargs: "N/" at the end read past the argument */
	{ "required ratelimit key=agent rate=5/", "n/a",
	  "ratelimit: bad or repeated argument \"rate=5/\"" },
	{ "required ratelimit key=agent rate=0/s\n", "n/a",
	  "ratelimit: bad or repeated argument \"rate=0/s\"" },
	{ "required ratelimit key=agent rate=5/s burst=x\n", "n/a",
	  "ratelimit: bad or repeated argument \"burst=x\"" },
	{ "required time\n", "n/a",
	  "verify.d/default:1: time: days= or hours= is required" },
	{ "required time days=Mon-Fry\n", "n/a",
	  "time: bad or repeated argument \"days=Mon-Fry\"" },
	{ "required time days=Mon,\n", "n/a",
	  "time: bad or repeated argument \"days=Mon,\"" },
	{ "required time hours=25:00-26:00\n", "n/a",
	  "time: bad or repeated argument \"hours=25:00-26:00\"" },
	{ "required time hours=09:00-09:00\n", "n/a",
	  "time: bad or repeated argument \"hours=09:00-09:00\"" },
	{ "required time hours=9:00-17:00\n", "n/a",
	  "time: bad or repeated argument \"hours=9:00-17:00\"" },
	{ "required time utc utc\n", "n/a",
	  "time: bad or repeated argument \"utc\"" },
	{ "required exec\n", "n/a",
	  "verify.d/default:1: exec: program=/ABSOLUTE/PATH is required" },
	{ "required exec program=/nonexistent/x\n", "n/a",
	  "exec: /nonexistent/x: No such file or directory" },
	{ "required exec program=bin/true\n", "n/a",
	  "exec: bad or repeated argument \"program=bin/true\"" },
	{ "required exec program=/bin/sh timeout=0\n", "n/a",
	  "exec: bad or repeated argument \"timeout=0\"" },
	{ "required exec program=/bin/sh max-output=x\n", "n/a",
	  "exec: bad or repeated argument \"max-output=x\"" },
	{ "required exec program=/etc/passwd\n", "n/a",
	  "exec: /etc/passwd: must be an executable file owned by root" },
};

START_TEST(test_refused)
{
	char	*cause;

	setup();
	write_verify("default", refused[_i].stack);
	cause = load();
	ck_assert_msg(cause != NULL, "accepted \"%s\" (Linux-PAM: %s)",
	    refused[_i].stack, refused[_i].linux_pam);
	ck_assert_msg(strstr(cause, refused[_i].msg) != NULL,
	    "\"%s\" does not contain \"%s\"", cause, refused[_i].msg);
	ck_assert_ptr_null(cfg.stacks);
	free(cause);
	teardown();
}
END_TEST

/* The loader refuses links, writable files and writable directories. */
START_TEST(test_loader_files)
{
	char	 path[512], link[512], *cause;

	setup();
	write_verify("default", "required permit2\n");
	snprintf(path, sizeof path, "%s/permit.so", moddir);
	snprintf(link, sizeof link, "%s/permit2.so", moddir);
	ck_assert_int_eq(symlink(path, link), 0);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "permit2.so: is a symbolic link"));
	free(cause);

	write_verify("default", "required permit\n");
	chmod(path, 0775);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "permit.so: must be owned by root"));
	free(cause);
	chmod(path, 0755);

	chmod(moddir, 0777);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "module directory must be owned"));
	free(cause);
	chmod(moddir, 0755);

	/* A stack file others may write is refused like a module. */
	snprintf(path, sizeof path, "%s/verify.d/default", stackdir);
	chmod(path, 0666);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "verify.d/default: must be owned"));
	free(cause);
	chmod(path, 0644);
	snprintf(path, sizeof path, "%s/verify.d", stackdir);
	chmod(path, 0777);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "verify.d: must be owned"));
	free(cause);
	chmod(path, 0755);
	chmod(stackdir, 0775);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "stack-dir /tmp/"));
	ck_assert_ptr_nonnull(strstr(cause, "must be owned by root"));
	free(cause);
	chmod(stackdir, 0755);

	ck_assert_ptr_null(load());
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

/* Rules files: syntax errors name the file and the line. */
static const struct {
	const char	*rules;
	const char	*msg;
} bad_rules[] = {
	{ "allow a t read\npermit a t read\n",
	  ":2: expected allow or deny, not \"permit\"" },
	{ "allow a t\n", ":1: expected \"allow|deny AGENT TOOL ACTIONS" },
	{ "\nallow a t read,,write\n", ":2: bad action \"\" in \"read,,write\"" },
	{ "allow a t Read\n", ":1: action \"Read\": actions are lower case" },
	{ "allow a t read max-ttl=abc\n", ":1: bad or repeated cap \"max-ttl=abc\"" },
	{ "allow a t read max-ttl=0\n", ":1: bad or repeated cap" },
	{ "allow a t read max-ttl=5 max-ttl=6\n",
	  ":1: bad or repeated cap \"max-ttl=6\"" },
	{ "allow a t read limit.=5\n", ":1: bad or repeated cap" },
	{ "allow a t read limit.rows=x\n", ":1: bad or repeated cap" },
	{ "allow a t read max-depth=17\n", ":1: bad or repeated cap" },
	{ "allow a t read colour=blue\n", ":1: bad or repeated cap" },
	{ "deny a t read max-ttl=5\n", ":1: caps belong on allow rules" },
	{ "allow a t read\0\n", "NUL byte in file" },
};

START_TEST(test_bad_rules)
{
	char	 stack[512], *cause;
	FILE	*f;
	char	 path[300];

	setup();
	snprintf(path, sizeof path, "%s/rules", stackdir);
	f = fopen(path, "w");
	fwrite(bad_rules[_i].rules, 1, strlen(bad_rules[_i].rules) +
	    (strstr(bad_rules[_i].msg, "NUL") != NULL ? 2 : 0), f);
	fclose(f);
	snprintf(stack, sizeof stack, "required policy rules=%s\n", path);
	write_verify("default", stack);
	cause = load();
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_rules[_i].msg) != NULL &&
	    strstr(cause, "verify.d/default:1: policy: ") != NULL &&
	    strstr(cause, path) != NULL, "\"%s\" lacks \"%s\"", cause,
	    bad_rules[_i].msg);
	free(cause);

	/* An unreadable (others-writable) rules file is refused too. */
	chmod(path, 0666);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "must be owned by root"));
	free(cause);
	teardown();
}
END_TEST

/* ---- ratelimit, time, exec ------------------------------------------------ */

/* One issue-time decision for agent, through the stack loaded. */
static enum authz_result
decide_as(const char *agent, char *why, size_t whylen)
{
	struct decision	d;
	struct peer	p;

	memset(&d, 0, sizeof d);
	memset(&p, 0, sizeof p);
	d.service = "issue";
	d.op = BATON_OP_MINT;
	d.agent = agent;
	d.peer = &p;
	d.why = why;
	d.whylen = whylen;
	why[0] = '\0';
	return (stacks_authorize(&d));
}

static void
write_issue(const char *text)
{
	char	dir[300];

	snprintf(dir, sizeof dir, "%s/issue.d", stackdir);
	pu_write(dir, "default", text);
}

START_TEST(test_ratelimit)
{
	char	why[256];
	int	i;

	setup();
	write_issue("required ratelimit key=agent rate=2/s burst=3\n");
	ck_assert_ptr_null(load());
	/* A full bucket of 3 per agent; each agent its own. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_OK);
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	ck_assert_str_eq(why, "issue.d/default:1: ratelimit: rate of 2/s for "
	    "agent a exceeded");
	ck_assert_int_eq(decide_as("b", why, sizeof why), AUTHZ_OK);
	/* Half a second later one token has come back, and only one. */
	fake_usec += 500000;
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_OK);
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	/* Never more than the burst, however long it waited. */
	fake_usec += 3600ULL * 1000000;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_OK);
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

START_TEST(test_time)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	struct tm	tm;
	time_t		now = time(NULL);
	char		text[256], why[256];
	int		h;

	setup();
	gmtime_r(&now, &tm);
	if (tm.tm_min == 59 && tm.tm_sec > 50)
		sleep(10);	/* keep the hour still while the test runs */
	now = time(NULL);
	gmtime_r(&now, &tm);
	h = tm.tm_hour;
	/* This hour, today: allowed. */
	snprintf(text, sizeof text, "required time days=%s hours=%02d:00-"
	    "%02d:00 utc\n", days[tm.tm_wday], h, (h + 1) % 24);
	write_issue(text);
	ck_assert_ptr_null(load());
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_OK);
	stacks_release(cfg.stacks);
	/* The next two hours only: denied, saying when it is. */
	snprintf(text, sizeof text, "required time hours=%02d:00-%02d:00 "
	    "utc\n", (h + 1) % 24, (h + 3) % 24);
	write_issue(text);
	ck_assert_ptr_null(load());
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	ck_assert_msg(strstr(why, "outside the allowed days and hours") !=
	    NULL && strstr(why, days[tm.tm_wday]) != NULL, "%s", why);
	stacks_release(cfg.stacks);
	/* Every hour, but tomorrow only. */
	snprintf(text, sizeof text, "required time days=%s utc\n",
	    days[(tm.tm_wday + 1) % 7]);
	write_issue(text);
	ck_assert_ptr_null(load());
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	stacks_release(cfg.stacks);
	/*
	 * A window across midnight: one that started yesterday at 23:00 and
	 * lasts past now; late in the evening, one that starts today.
	 */
	if (h <= 21)
		snprintf(text, sizeof text, "required time days=%s hours="
		    "23:00-%02d:00 utc\n", days[(tm.tm_wday + 6) % 7], h + 1);
	else
		snprintf(text, sizeof text, "required time days=%s hours="
		    "%02d:00-01:00 utc\n", days[tm.tm_wday], h);
	write_issue(text);
	ck_assert_ptr_null(load());
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_OK);
	stacks_release(cfg.stacks);
	/* The same window, but for a day that is neither: denied. */
	if (h <= 21)
		snprintf(text, sizeof text, "required time days=%s hours="
		    "23:00-%02d:00 utc\n", days[(tm.tm_wday + 5) % 7], h + 1);
	else
		snprintf(text, sizeof text, "required time days=%s hours="
		    "%02d:00-01:00 utc\n", days[(tm.tm_wday + 1) % 7], h);
	write_issue(text);
	ck_assert_ptr_null(load());
	ck_assert_int_eq(decide_as("a", why, sizeof why), AUTHZ_DENY);
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

static const struct {
	const char		*script;
	const char		*args;
	enum authz_result	 want;
	const char		*why;
} execs[] = {
	{ "exit 0", "", AUTHZ_OK, "" },
	{ "cat >/dev/null; exit 0", "", AUTHZ_OK, "" },
	{ "grep -q '\"agent\":\"a\"' && exit 0; exit 1", "", AUTHZ_OK, "" },
	{ "echo 'not on Sundays'; echo more; exit 1", "", AUTHZ_DENY,
	  "exec: not on Sundays" },
	{ "exit 1", "", AUTHZ_DENY, "exec: denied by the program" },
	{ "exit 3", "", AUTHZ_ERROR, "exit status 3" },
	{ "kill -SEGV $$", "", AUTHZ_ERROR, "killed by signal 11" },
	{ "sleep 5", " timeout=200", AUTHZ_ERROR,
	  "no answer within 200 ms, killed" },
	{ "exec >&-; sleep 5", " timeout=200", AUTHZ_ERROR,
	  "no answer within 200 ms, killed" },
	{ "while :; do echo yyyyyyyyyyyyyyyyyyyy; done", " max-output=100",
	  AUTHZ_ERROR, "more than 100 bytes of output" },
};

START_TEST(test_exec)
{
	char	text[512], script[300], why[256], *cause;
	time_t	t0;

	signal(SIGPIPE, SIG_IGN);	/* as batond does */
	setup();
	snprintf(text, sizeof text, "#!/bin/sh\n%s\n", execs[_i].script);
	pu_write(stackdir, "prog", text);
	snprintf(script, sizeof script, "%s/prog", stackdir);
	chmod(script, 0755);
	snprintf(text, sizeof text, "required exec program=%s%s\n", script,
	    execs[_i].args);
	write_issue(text);
	ck_assert_ptr_null(load());
	t0 = time(NULL);
	ck_assert_int_eq(decide_as("a", why, sizeof why), execs[_i].want);
	ck_assert_int_le(time(NULL) - t0, 2);
	ck_assert_msg(strstr(why, execs[_i].why) != NULL, "\"%s\" lacks "
	    "\"%s\"", why, execs[_i].why);
	stacks_release(cfg.stacks);
	/* A program others may change is refused. */
	chmod(script, 0777);
	cause = load();
	ck_assert_ptr_nonnull(strstr(cause, "must be an executable file"));
	free(cause);
	teardown();
}
END_TEST

/* ---- sources.conf --------------------------------------------------------- */

static enum baton_status files_answer;
static int files_asked;

static enum baton_status
fake_files(const struct baton_query *q, void *arg)
{
	(void)q;
	(void)arg;
	files_asked++;
	return (files_answer);
}

/*
 * One database's chain and what the built-in files source answers; the
 * status the chain resolves to, and whether files was asked.  The
 * nsswitch column is glibc's answer with its defaults, where UNAVAIL and
 * TRYAGAIN continue: baton's return (fail closed) unless told otherwise.
 */
static const struct {
	const char		*line;
	enum baton_status	 files;
	enum baton_status	 want;
	int			 files_asked;
	const char		*nsswitch;
} chains[] = {
	{ "revocation: files", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_NOTFOUND, 1, "same" },
	{ "revocation: srcunavail files", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_UNAVAIL, 0, "NOTFOUND from files" },
	{ "revocation: srcunavail [UNAVAIL=continue] files",
	  BATON_STATUS_NOTFOUND, BATON_STATUS_NOTFOUND, 1, "same" },
	{ "revocation: srcagain files", BATON_STATUS_SUCCESS,
	  BATON_STATUS_TRYAGAIN, 0, "SUCCESS from files" },
	{ "revocation: srcagain [tryagain=continue] files",
	  BATON_STATUS_SUCCESS, BATON_STATUS_SUCCESS, 1, "same" },
	{ "revocation: srcno files", BATON_STATUS_SUCCESS,
	  BATON_STATUS_SUCCESS, 1, "same" },
	{ "revocation: srcno [NOTFOUND=return] files", BATON_STATUS_SUCCESS,
	  BATON_STATUS_NOTFOUND, 0, "same" },
	{ "revocation: files srcyes", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_SUCCESS, 1, "same" },
	{ "revocation: srcyes [SUCCESS=continue] srcno", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_NOTFOUND, 0, "same" },
	{ "revocation: srcyes [!SUCCESS=return] files", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_SUCCESS, 0, "same" },
	{ "revocation: files [!NOTFOUND=return] srcyes",
	  BATON_STATUS_UNAVAIL, BATON_STATUS_UNAVAIL, 1, "same" },
	{ "agents: files srcunavail", BATON_STATUS_NOTFOUND,
	  BATON_STATUS_UNAVAIL, 1, "NOTFOUND" },
	{ "replay: srcno srcyes", BATON_STATUS_SUCCESS,
	  BATON_STATUS_SUCCESS, 0, "same" },
};

START_TEST(test_source_chains)
{
	const struct src_chain	*c;
	struct baton_query	 q;
	enum baton_database	 db;
	char			 text[256];

	setup();
	snprintf(text, sizeof text, "# sources\n\n%s\n", chains[_i].line);
	pu_write(stackdir, "sources.conf", text);
	ck_assert_ptr_null(load());
	db = strncmp(chains[_i].line, "agents", 6) == 0 ? BATON_DB_AGENTS :
	    strncmp(chains[_i].line, "replay", 6) == 0 ? BATON_DB_REPLAY :
	    BATON_DB_REVOCATION;
	ck_assert_ptr_nonnull(cfg.stacks);
	c = stacks_sources(cfg.stacks, db);
	ck_assert_ptr_nonnull(c);
	/* The other databases stay with files alone. */
	ck_assert_ptr_null(stacks_sources(cfg.stacks, db ==
	    BATON_DB_AGENTS ? BATON_DB_REPLAY : BATON_DB_AGENTS));
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.db = db;
	files_answer = chains[_i].files;
	files_asked = 0;
	ck_assert_msg(sources_resolve(c, &q, fake_files, NULL) ==
	    chains[_i].want, "%s: wrong answer (nsswitch: %s)",
	    chains[_i].line, chains[_i].nsswitch);
	ck_assert_int_eq(files_asked != 0, chains[_i].files_asked);
	stacks_release(cfg.stacks);
	teardown();
}
END_TEST

static const struct {
	const char	*text;
	const char	*msg;
} bad_sources[] = {
	{ "passwd: files\n", "sources.conf:1: unknown database \"passwd\"" },
	{ "agents files\n", "sources.conf:1: expected \"DATABASE: SOURCE...\"" },
	{ "agents:\n", "sources.conf:1: agents: no source" },
	{ "agents: files\n\nagents: files\n",
	  "sources.conf:3: agents: given twice" },
	{ "revocation: nosuch\n", "sources.conf:1: source nosuch: " },
	{ "revocation: permit\n",
	  "sources.conf:1: module permit is not a source (no lookup hook)" },
	{ "revocation: ../x\n", "sources.conf:1: bad source name \"../x\"" },
	{ "revocation: [UNAVAIL=continue] files\n",
	  "sources.conf:1: an action needs a source before it" },
	{ "revocation: files [UNAVAIL=jump]\n",
	  "sources.conf:1: bad action item \"UNAVAIL\"" },
	{ "revocation: files [MAYBE=return]\n",
	  "sources.conf:1: bad action item \"MAYBE\"" },
	{ "revocation: files [UNAVAIL=continue\n",
	  "sources.conf:1: unclosed '['" },
	{ "replay: srcbad\n", "sources.conf:1: source srcbad: " },
};

START_TEST(test_bad_sources)
{
	char	*cause;

	setup();
	pu_write(stackdir, "sources.conf", bad_sources[_i].text);
	cause = load();
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_sources[_i].msg) != NULL,
	    "\"%s\" lacks \"%s\"", cause, bad_sources[_i].msg);
	free(cause);
	teardown();
}
END_TEST

/* Production batond cannot be pointed elsewhere: only test builds can. */
START_TEST(test_module_dir)
{
	setenv("BATON_TEST_MODULE_DIR", "/tmp/elsewhere", 1);
	ck_assert_str_eq(module_dir(), "/tmp/elsewhere");
	setenv("BATON_TEST_MODULE_DIR", "relative", 1);
	ck_assert_str_ne(module_dir(), "relative");
	ck_assert(module_name_ok("policy"));
	ck_assert(module_name_ok("my-module_2"));
	ck_assert(!module_name_ok(""));
	ck_assert(!module_name_ok(".."));
	ck_assert(!module_name_ok("a/b"));
	ck_assert(!module_name_ok("a.so"));
}
END_TEST

static Suite *
stack_suite(void)
{
	Suite	*s = suite_create("stack");
	TCase	*tc = tcase_create("stack");

	tcase_add_loop_test(tc, test_controls, 0,
	    sizeof controls / sizeof controls[0]);
	tcase_add_test(tc, test_reason);
	tcase_add_test(tc, test_lookup);
	tcase_add_loop_test(tc, test_refused, 0,
	    sizeof refused / sizeof refused[0]);
	tcase_add_test(tc, test_loader_files);
	tcase_add_loop_test(tc, test_bad_rules, 0,
	    sizeof bad_rules / sizeof bad_rules[0]);
	tcase_add_test(tc, test_ratelimit);
	tcase_add_test(tc, test_time);
	tcase_add_loop_test(tc, test_exec, 0, sizeof execs / sizeof execs[0]);
	tcase_add_loop_test(tc, test_source_chains, 0,
	    sizeof chains / sizeof chains[0]);
	tcase_add_loop_test(tc, test_bad_sources, 0,
	    sizeof bad_sources / sizeof bad_sources[0]);
	tcase_add_test(tc, test_module_dir);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(stack_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
