/*
 * decode_auditd – Linux audit records as Sigma's product "linux", service
 * "auditd", one event per record:
 *
 *   type=SYSCALL msg=audit(1764068401.123:4567): arch=c000003e syscall=59 ...
 *   node=web1 type=EXECVE msg=audit(...): argc=3 a0="bash" a1="-c" a2=6563...
 *   [  12.345] audit: type=1327 audit(1764068401.123:4567): proctitle=6261...
 *
 * as written to /var/log/audit/audit.log, by audisp-syslog (the same text
 * after a syslog header) and by the kernel when auditd is not running
 * (numeric type, no "msg="). The optional enriched part that follows a
 * 0x1d byte (ARCH=x86_64 SYSCALL=execve AUID="alice" ...) is decoded too:
 * its keys are upper case, so they never shadow the raw ones.
 *
 * Fields: "type" (the record type name, numeric types mapped), "serial",
 * "node" when present, every key=value of the record by its auditd key
 * (quoted values unquoted; values auditd hex-encodes – EXECVE aN, proctitle,
 * name, cwd, comm, exe, cmd, acct, key, data, path – decoded when they are
 * hex; proctitle's NUL separators become spaces), "msg" and the key=values
 * inside a userspace record's msg='...'. On x86_64 a SYSCALL record without
 * the enriched part also gets "SYSCALL" (the syscall name), the field
 * SigmaHQ's rules select on. EXECVE records are also category
 * "process_creation" with "CommandLine" (the arguments joined by spaces);
 * an argument the kernel split ("a1_len=N a1[0]=... a1[1]=...") is also
 * joined into "a1". An unquoted "(null)" of a key whose value may be hex
 * (key=(null): no audit rule key; exe, name ...) is no value: the field is
 * absent.
 *
 * With a cache in the decode context (decode_auditd_cache_new), the SYSCALL
 * record's exe, comm, uid, auid and key, and the EXECVE's command line are
 * remembered per (agent, event time, serial), up to AU_CACHE_AGENT_WAYS
 * events of an agent (see struct decode_auditd_cache: one agent's records,
 * however many, replace at most half of one set of the cache); later
 * records of the same event (EXECVE, CWD, PATH, PROCTITLE, ...) get them
 * as "exe", "comm", "uid", "auid", "key", "Image" and "CommandLine" when
 * they lack those fields. auditd writes SYSCALL first, so one pass
 * suffices; records arriving out of order are simply not enriched.
 * A value longer than its slot in the cache (exe 512 bytes, command line
 * 4,096; the parent table's 512 and 512) keeps its first and last half
 * slot (au_keep_ends), so that a program run from a deep directory is
 * still Image|endswith its name; such an event has values_cut set (the
 * collector counts it).
 *
 * The same cache keeps a table of processes by (agent, pid) (struct
 * au_ptable): every successful execve's EXECVE record puts its pid there
 * with its exe and command line, and first gets its parent's – the entry
 * of its SYSCALL record's ppid – as "ParentImage" and "ParentCommandLine".
 * The CWD record comes after EXECVE, so the process_creation event has no
 * CurrentDirectory (the CWD record has "cwd").
 *
 * Field names are static strings for the keys listed below and a
 * NUL-terminated copy in the scratch area for any other key (scratch lives
 * as long as the values do). Nothing is allocated per line; every loop is
 * bounded by the line or by a fixed table.
 */
#include "decode.h"
#include "decoders.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * Events remembered for enrichment: AU_CACHE_SETS sets of AU_CACHE_WAYS,
 * an agent's events all in the set its id hashes to, an agent holding at
 * most AU_CACHE_AGENT_WAYS of its set. audit.log interleaves only a few
 * events at once, so 16 begun and unfinished events of one host are ample.
 */
#define AU_CACHE_SET_BITS 5
#define AU_CACHE_SETS (1u << AU_CACHE_SET_BITS)
#define AU_CACHE_WAYS 32
#define AU_CACHE_AGENT_WAYS (AU_CACHE_WAYS / 2)
/*
 * Caps of what the cache keeps of one event: a longer value keeps its
 * first and last bytes (au_keep_ends), so that Image|endswith still sees
 * the program of a path longer than the slot.
 */
#define AU_CACHE_EXE 512
#define AU_CACHE_COMM 64
#define AU_CACHE_ID 24
#define AU_CACHE_KEY 128
#define AU_CACHE_CMDLINE 4096
/* Longest CommandLine built from EXECVE arguments. */
#define AU_CMDLINE_MAX 8192
/*
 * Fields kept free for type, serial, node, SYSCALL and enrichment: at most
 * 12 (an EXECVE record: 3 + CommandLine + 6 enriched + 2 parent fields;
 * other records: 3 + SYSCALL or 3 + 7 enriched).
 */
#define AU_RESERVED_FIELDS 12
/* Longest key copied as a field name; auditd's keys are short. */
#define AU_MAX_KEY 32
/* Digits accepted in the audit(SECONDS.MILLIS:SERIAL) stamp. */
#define AU_MAX_SEC_DIGITS 12
#define AU_MAX_FRAC_DIGITS 9
#define AU_MAX_SERIAL_DIGITS 19
/* The enriched part of a record starts after this byte. */
#define AU_ENRICH_SEP '\x1d'

/* The values an event keeps, in the order au_syscall_fields finds them; cmd last. */
enum { AU_KEEP_EXE, AU_KEEP_COMM, AU_KEEP_UID, AU_KEEP_AUID, AU_KEEP_KEY, AU_KEEP_N,
	AU_KEEP_CMD = AU_KEEP_N };

struct au_entry {
	size_t exe_len, comm_len, uid_len, auid_len, key_len, cmd_len;
	bool has_exe, has_comm, has_uid, has_auid, has_key, has_cmd;
	unsigned char cut;	/* 1 << AU_KEEP_*: only the value's ends are kept (au_keep_ends) */
	bool has_pid, has_ppid, failed;	/* failed: the SYSCALL record's success=no */
	uint32_t pid, ppid;
	char exe[AU_CACHE_EXE];
	char comm[AU_CACHE_COMM];
	char uid[AU_CACHE_ID];
	char auid[AU_CACHE_ID];
	char key[AU_CACHE_KEY];
	char cmd[AU_CACHE_CMDLINE];
};

/*
 * An agent holding ways of a set: its ways oldest first, a ring of n from
 * head, so that its oldest is found without a pass over the set.
 */
struct au_owner {
	uint64_t agent;		/* hash of the agent id */
	unsigned char way[AU_CACHE_AGENT_WAYS];
	unsigned char head, n;
};

/*
 * One set: its events' identities apart from their values, so that a
 * lookup reads the 128 bytes of tags (and a matching way's identity), not
 * the set's 153 KiB of values. A tag is a hash of the identity, never 0;
 * ways from used on are empty (tag 0), ways are filled in order and never
 * emptied. Every filled way is in exactly one owner's ring.
 */
struct au_set {
	uint32_t tag[AU_CACHE_WAYS];
	uint64_t agent[AU_CACHE_WAYS];	/* hash of the agent id */
	int64_t time_ms[AU_CACHE_WAYS];
	uint64_t serial[AU_CACHE_WAYS];
	uint64_t age[AU_CACHE_WAYS];	/* value of added when the way was taken */
	uint64_t added;			/* events added to the set */
	unsigned used, nowners;
	struct au_owner owner[AU_CACHE_WAYS];	/* at most one a filled way */
};

/*
 * Processes remembered as parents: AU_PT_BUCKETS buckets of AU_PT_WAYS,
 * a process in the bucket its (agent, pid) hashes to, an agent holding at
 * most AU_PT_AGENT_WAYS of a bucket. Each successful execve puts its pid
 * with its exe and command line; a later execve whose ppid is there gets
 * them as ParentImage and ParentCommandLine.
 */
#define AU_PT_BUCKET_BITS 9
#define AU_PT_BUCKETS (1u << AU_PT_BUCKET_BITS)
#define AU_PT_WAYS 8
#define AU_PT_AGENT_WAYS (AU_PT_WAYS / 2)
#define AU_PT_EXE AU_CACHE_EXE
#define AU_PT_CMD 512

struct au_proc {
	uint16_t exe_len, cmd_len;
	bool has_exe, has_cmd;
	bool exe_cut, cmd_cut;	/* only the value's ends are kept (au_keep_ends) */
	char exe[AU_PT_EXE];
	char cmd[AU_PT_CMD];
};

/*
 * One bucket's identities: a lookup reads these 160 bytes, not the
 * bucket's 8 KiB of values. used is the table's clock at the way's last
 * put or lookup (least recently used goes first), 0 for an empty way.
 */
struct au_pbucket {
	uint64_t agent[AU_PT_WAYS];	/* hash of the agent id */
	uint64_t used[AU_PT_WAYS];
	uint32_t pid[AU_PT_WAYS];
};

/*
 * The table is bounded and keyed by agent and pid, never by anything an
 * agent picks alone: within a bucket an agent that holds AU_PT_AGENT_WAYS
 * (half of it) replaces its own least recently used process, one with
 * fewer an empty way or the bucket's least recently used. One agent's
 * flood of execs – however many, whatever pids – thus replaces at most
 * half of each bucket, and the other agents keep the other half; the
 * flooder's own old processes go first. What it cannot know: processes
 * started before the collector (or evicted since) have no entry, so their
 * children get no parent fields, and a pid reused by a process that never
 * exec'd (a fork of another parent) keeps the old entry until it is
 * replaced. Memory: 4,096 entries of 1,032 bytes and 512 bucket headers
 * of 160 bytes: 4.1 MiB, allocated with the event cache.
 */
struct au_ptable {
	uint64_t clock;
	struct au_pbucket b[AU_PT_BUCKETS];
	struct au_proc p[AU_PT_BUCKETS][AU_PT_WAYS];
};

/*
 * The cache is set-associative by agent: an agent's events go to the set
 * its id hashes to, so another set's agents never replace them, and
 * within a set an agent that holds AU_CACHE_AGENT_WAYS (half the set)
 * replaces its own oldest event, one with fewer the set's oldest. One
 * agent's flood – a batch of SYSCALL records, however long – thus
 * replaces at most its own half of one set, and the other agents of that
 * set keep theirs (the review's case: another agent's 256 records between
 * the two batches of one event took every slot of the single ring that
 * was here before, and the event lost its uid, Image ...). An agent
 * cannot choose its set: the id is its certificate's CN, given at
 * enrolment. What is not isolated: the agents of a set share it, so
 * whatever one of them sends the others keep 16 events between them at
 * least, but several busy agents of one set (an agent shares its set
 * with 1/32 of the others) shorten each other's memory.
 *
 * Memory: 1,024 entries of 4,920 bytes (mostly the command line) and 32
 * set headers of 2,192 bytes: 5,108,224 bytes (4.9 MiB); with the parent
 * table (4,309,000 bytes) 9,417,224 bytes (9.0 MiB), allocated once and
 * touched page by page as ways fill.
 */
struct decode_auditd_cache {
	struct au_set set[AU_CACHE_SETS];
	struct au_entry e[AU_CACHE_SETS][AU_CACHE_WAYS];
	struct au_ptable pt;
};

/* ---- tables ---------------------------------------------------------- */

/* Record type numbers (linux/audit.h, libaudit.h) for kernel-format lines. */
struct au_type {
	unsigned num;
	const char *name;
};

static const struct au_type au_types[] = {
	{ 1100, "USER_AUTH" }, { 1101, "USER_ACCT" }, { 1102, "USER_MGMT" },
	{ 1103, "CRED_ACQ" }, { 1104, "CRED_DISP" }, { 1105, "USER_START" },
	{ 1106, "USER_END" }, { 1107, "USER_AVC" }, { 1108, "USER_CHAUTHTOK" },
	{ 1109, "USER_ERR" }, { 1110, "CRED_REFR" }, { 1111, "USYS_CONFIG" },
	{ 1112, "USER_LOGIN" }, { 1113, "USER_LOGOUT" }, { 1114, "ADD_USER" },
	{ 1115, "DEL_USER" }, { 1116, "ADD_GROUP" }, { 1117, "DEL_GROUP" },
	{ 1119, "CHGRP_ID" }, { 1120, "TEST" }, { 1121, "TRUSTED_APP" },
	{ 1123, "USER_CMD" }, { 1124, "USER_TTY" }, { 1125, "CHUSER_ID" },
	{ 1126, "GRP_AUTH" }, { 1127, "SYSTEM_BOOT" }, { 1128, "SYSTEM_SHUTDOWN" },
	{ 1129, "SYSTEM_RUNLEVEL" }, { 1130, "SERVICE_START" }, { 1131, "SERVICE_STOP" },
	{ 1132, "GRP_MGMT" }, { 1133, "GRP_CHAUTHTOK" },
	{ 1300, "SYSCALL" }, { 1302, "PATH" }, { 1303, "IPC" }, { 1304, "SOCKETCALL" },
	{ 1305, "CONFIG_CHANGE" }, { 1306, "SOCKADDR" }, { 1307, "CWD" }, { 1309, "EXECVE" },
	{ 1318, "FD_PAIR" }, { 1319, "OBJ_PID" }, { 1320, "EOE" }, { 1321, "BPRM_FCAPS" },
	{ 1322, "CAPSET" }, { 1323, "MMAP" }, { 1324, "NETFILTER_PKT" },
	{ 1325, "NETFILTER_CFG" }, { 1326, "SECCOMP" }, { 1327, "PROCTITLE" },
	{ 1328, "FEATURE_CHANGE" }, { 1329, "REPLACE" }, { 1330, "KERN_MODULE" },
	{ 1331, "FANOTIFY" }, { 1334, "BPF" }, { 1336, "URINGOP" }, { 1337, "OPENAT2" },
	{ 1400, "AVC" }, { 1401, "SELINUX_ERR" }, { 1402, "AVC_PATH" },
	{ 1404, "MAC_STATUS" }, { 1405, "MAC_CONFIG_CHANGE" },
	{ 1700, "ANOM_PROMISCUOUS" }, { 1701, "ANOM_ABEND" }, { 1702, "ANOM_LINK" },
	{ 1703, "ANOM_CREAT" },
};

/* x86_64 syscall numbers worth naming (arch/x86/entry/syscalls/syscall_64.tbl). */
struct au_syscall {
	unsigned num;
	const char *name;
};

static const struct au_syscall au_syscalls_x86_64[] = {
	{ 0, "read" }, { 1, "write" }, { 2, "open" }, { 3, "close" }, { 4, "stat" },
	{ 5, "fstat" }, { 6, "lstat" }, { 9, "mmap" }, { 10, "mprotect" }, { 16, "ioctl" },
	{ 21, "access" }, { 22, "pipe" }, { 32, "dup" }, { 33, "dup2" }, { 39, "getpid" },
	{ 41, "socket" }, { 42, "connect" }, { 43, "accept" }, { 44, "sendto" },
	{ 45, "recvfrom" }, { 49, "bind" }, { 50, "listen" }, { 56, "clone" }, { 57, "fork" },
	{ 58, "vfork" }, { 59, "execve" }, { 60, "exit" }, { 61, "wait4" }, { 62, "kill" },
	{ 63, "uname" }, { 72, "fcntl" }, { 76, "truncate" }, { 77, "ftruncate" },
	{ 80, "chdir" }, { 82, "rename" }, { 83, "mkdir" }, { 84, "rmdir" }, { 85, "creat" },
	{ 86, "link" }, { 87, "unlink" }, { 88, "symlink" }, { 89, "readlink" },
	{ 90, "chmod" }, { 91, "fchmod" }, { 92, "chown" }, { 93, "fchown" },
	{ 94, "lchown" }, { 95, "umask" }, { 99, "sysinfo" }, { 101, "ptrace" },
	{ 103, "syslog" }, { 105, "setuid" }, { 106, "setgid" }, { 112, "setsid" },
	{ 113, "setreuid" }, { 114, "setregid" }, { 117, "setresuid" }, { 119, "setresgid" },
	{ 133, "mknod" }, { 155, "pivot_root" }, { 157, "prctl" }, { 160, "setrlimit" },
	{ 161, "chroot" }, { 165, "mount" }, { 166, "umount2" }, { 169, "reboot" },
	{ 170, "sethostname" }, { 175, "init_module" }, { 176, "delete_module" },
	{ 188, "setxattr" }, { 189, "lsetxattr" }, { 190, "fsetxattr" }, { 200, "tkill" },
	{ 217, "getdents64" }, { 257, "openat" }, { 258, "mkdirat" }, { 259, "mknodat" },
	{ 260, "fchownat" }, { 263, "unlinkat" }, { 264, "renameat" }, { 265, "linkat" },
	{ 266, "symlinkat" }, { 268, "fchmodat" }, { 269, "faccessat" }, { 272, "unshare" },
	{ 288, "accept4" }, { 292, "dup3" }, { 298, "perf_event_open" },
	{ 304, "open_by_handle_at" }, { 308, "setns" }, { 310, "process_vm_readv" },
	{ 311, "process_vm_writev" }, { 313, "finit_module" }, { 316, "renameat2" },
	{ 319, "memfd_create" }, { 321, "bpf" }, { 322, "execveat" },
	{ 424, "pidfd_send_signal" }, { 425, "io_uring_setup" }, { 434, "pidfd_open" },
	{ 435, "clone3" }, { 437, "openat2" },
};

/*
 * Keys with a static name (anything else gets a scratch copy). EXECVE's
 * a0..a31 are here because every exec has them.
 */
static const char *const au_keys[] = {
	"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11",
	"a12", "a13", "a14", "a15", "a16", "a17", "a18", "a19", "a20", "a21", "a22",
	"a23", "a24", "a25", "a26", "a27", "a28", "a29", "a30", "a31",
	"acct", "addr", "apparmor", "arch", "argc", "auid", "cap_fe", "cap_fi", "cap_fp",
	"cap_frootid", "cap_fver", "cap_pa", "cap_pe", "cap_pi", "cap_pp", "comm", "cwd",
	"data", "denied_mask", "dev", "egid", "euid", "exe", "exit", "fsgid", "fsuid",
	"gid", "grantors", "hostname", "id", "info", "inode", "item", "items", "key",
	"mode", "msg", "name", "nametype", "new-auid", "new-ses", "obj", "ogid",
	"old-auid", "old-ses", "op", "operation", "ouid", "pid", "ppid", "proctitle",
	"profile", "rdev", "requested_mask", "res", "saddr", "ses", "sgid", "subj",
	"success", "suid", "syscall", "terminal", "tty", "uid", "unit",
	/* enriched part */
	"ARCH", "AUID", "EGID", "EUID", "FSGID", "FSUID", "GID", "OGID", "OUID",
	"SADDR", "SGID", "SUID", "SYSCALL", "UID",
};

/* Keys whose value the kernel or libaudit hex-encodes when it is not plain. */
static const char *const au_hex_keys[] = {
	"proctitle", "name", "cwd", "comm", "exe", "cmd", "acct", "key", "data", "path",
	"ocomm",
};

/* ---- small helpers --------------------------------------------------- */

static bool
au_startswith(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);

	return i <= n && n - i >= l && memcmp(s + i, lit, l) == 0;
}

static bool
au_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Hex digit values, -1 for other bytes: a load instead of an ms_hexval call per digit. */
static const signed char au_hex_val[256] = {
	['0'] = 0 + 1, ['1'] = 1 + 1, ['2'] = 2 + 1, ['3'] = 3 + 1, ['4'] = 4 + 1,
	['5'] = 5 + 1, ['6'] = 6 + 1, ['7'] = 7 + 1, ['8'] = 8 + 1, ['9'] = 9 + 1,
	['a'] = 10 + 1, ['b'] = 11 + 1, ['c'] = 12 + 1, ['d'] = 13 + 1, ['e'] = 14 + 1, ['f'] = 15 + 1,
	['A'] = 10 + 1, ['B'] = 11 + 1, ['C'] = 12 + 1, ['D'] = 13 + 1, ['E'] = 14 + 1, ['F'] = 15 + 1,
};

/* ms_hexval inline: the table holds value + 1, 0 for a byte that is no hex digit. */
static inline int
au_hexval(char c)
{
	return au_hex_val[(unsigned char)c] - 1;
}

static bool
au_is_hex(struct ms_str v)
{
	if (v.len < 2 || v.len % 2 != 0)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (au_hexval(v.p[i]) < 0)
			return false;
	return true;
}

/* Unsigned decimal of exactly the whole slice, at most maxd digits. */
static int
au_parse_u64(struct ms_str v, size_t maxd, uint64_t *out)
{
	uint64_t x = 0;

	if (v.len == 0 || v.len > maxd)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (!au_is_digit(v.p[i]))
			return -1;
		x = x * 10 + (uint64_t)(v.p[i] - '0');
	}
	*out = x;
	return 0;
}

static bool
au_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || au_is_digit(c) ||
	    c == '_' || c == '-' || c == '[' || c == ']' || c == '.';
}

/* "a<digits>" or "a<digits>[<digits>]": an EXECVE argument (or a piece of one). */
static bool
au_is_arg_key(struct ms_str k)
{
	size_t i = 1;

	if (k.len < 2 || k.p[0] != 'a')
		return false;
	while (i < k.len && au_is_digit(k.p[i]))
		i++;
	if (i == 1)
		return false;
	if (i == k.len)
		return true;
	if (k.p[i] != '[' || k.p[k.len - 1] != ']' || i + 2 >= k.len)
		return false;
	for (size_t j = i + 1; j < k.len - 1; j++)
		if (!au_is_digit(k.p[j]))
			return false;
	return true;
}

/* Is the NUL-terminated name exactly k? First byte first: this runs per key. */
static bool
au_name_eq(const char *name, struct ms_str k)
{
	size_t i;

	/* Never read past name's NUL: k may hold NUL bytes of its own. */
	for (i = 0; i < k.len; i++)
		if (name[i] == '\0' || name[i] != k.p[i])
			return false;
	return i > 0 && name[i] == '\0';
}

static bool
au_in(const char *const *list, size_t n, struct ms_str k)
{
	for (size_t i = 0; i < n; i++)
		if (au_name_eq(list[i], k))
			return true;
	return false;
}

/*
 * Known keys the decoder looks for itself once a record's fields are in
 * (the SYSCALL name, the cache, the enrichment): au_kv notes where each
 * was added (struct au_seen), so no pass over the fields compares names.
 */
enum au_role {
	AU_R_NONE, AU_R_ARCH, AU_R_SYSCALL, AU_R_SYSCALL_NAME, AU_R_EXE, AU_R_COMM,
	AU_R_UID, AU_R_AUID, AU_R_KEY, AU_R_PID, AU_R_PPID, AU_R_SUCCESS, AU_R_N
};

static const char *const au_role_names[AU_R_N] = {
	[AU_R_ARCH] = "arch", [AU_R_SYSCALL] = "syscall", [AU_R_SYSCALL_NAME] = "SYSCALL",
	[AU_R_EXE] = "exe", [AU_R_COMM] = "comm", [AU_R_UID] = "uid", [AU_R_AUID] = "auid",
	[AU_R_KEY] = "key", [AU_R_PID] = "pid", [AU_R_PPID] = "ppid", [AU_R_SUCCESS] = "success",
};

/*
 * What au_kv added, for the lookups after it. A field of a role's exact
 * name can only come from the key table (a key that is not in it gets a
 * scratch copy of its name, and no known name is such a key), so first[]
 * is what a pass over the fields comparing exact names would find.
 */
struct au_seen {
	unsigned first[AU_R_N];	/* field index + 1 of the role's first field, 0: none */
	unsigned last_syscall;	/* field index + 1 of the last "syscall" field, 0: none */
	unsigned copies;	/* fields named by a scratch copy (any name at all) */
	unsigned nulled;	/* 1 << role of a key whose value was "(null)" */
};

/* A known key: its static name, and whether auditd may hex-encode its value. */
struct au_key {
	const char *name;
	size_t len;
	uint64_t word;		/* au_key_word of the name */
	uint64_t bit;		/* decode_name_bit of the name */
	bool hex;
	unsigned char role;	/* enum au_role */
};

#define AU_KEY_SLOTS 512	/* > 2 * MS_ARRAY_LEN(au_keys), a power of two */
#define AU_KEY_WORD 8		/* key bytes packed into one uint64_t */

/*
 * A key's first AU_KEY_WORD bytes packed into one word (first byte lowest,
 * zero past the key's end): au_scan_key builds it while it finds the key's
 * end, so a known key of up to 8 bytes – nearly all of them – is found by
 * one compare of length and word, with no second pass over its bytes.
 */
static uint64_t
au_key_word(const char *p, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n && i < AU_KEY_WORD; i++)
		w |= (uint64_t)(unsigned char)p[i] << (8 * i);
	return w;
}

static size_t
au_key_slot(uint64_t w, size_t n)
{
	return (size_t)(((w ^ n) * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & (AU_KEY_SLOTS - 1);
}

/* au_keys[] as a hash table (au_key_table), built once. */
static struct au_key au_key_tab[AU_KEY_SLOTS];
static bool au_key_ready;

/* Highest syscall number in au_syscalls_x86_64, + 1. */
#define AU_SYSCALL_NUMS 438
/* au_syscalls_x86_64 by number: index + 1, 0 = not named (built with au_key_tab). */
static uint8_t au_syscall_idx[AU_SYSCALL_NUMS];

static void
au_key_table(void)
{
	/* on first use, as before it was split out of au_known_key */
	for (size_t i = 0; i < MS_ARRAY_LEN(au_keys); i++) {
		const char *nm = au_keys[i];
		size_t l = strlen(nm), h;
		uint64_t w = au_key_word(nm, l);

		h = au_key_slot(w, l);
		while (au_key_tab[h].name != NULL)
			h = (h + 1) & (AU_KEY_SLOTS - 1);
		au_key_tab[h].name = nm;
		au_key_tab[h].len = l;
		au_key_tab[h].word = w;
		au_key_tab[h].bit = decode_name_bit(nm);
		au_key_tab[h].hex = au_in(au_hex_keys, MS_ARRAY_LEN(au_hex_keys), ms_str_make(nm, l));
		for (int r = AU_R_NONE + 1; r < AU_R_N; r++)
			if (strcmp(nm, au_role_names[r]) == 0)
				au_key_tab[h].role = (unsigned char)r;
	}
	_Static_assert(MS_ARRAY_LEN(au_syscalls_x86_64) < UINT8_MAX, "index + 1 fits a byte");
	for (size_t i = 0; i < MS_ARRAY_LEN(au_syscalls_x86_64); i++)
		if (au_syscalls_x86_64[i].num < AU_SYSCALL_NUMS && au_syscall_idx[au_syscalls_x86_64[i].num] == 0)
			au_syscall_idx[au_syscalls_x86_64[i].num] = (uint8_t)(i + 1);
	au_key_ready = true;
}

/*
 * The known key k (w: au_key_word of it), or NULL. Every key of every
 * record is looked up and this was the decoder's hottest spot (a linear
 * scan, then a binary search, then a hash of a few bytes plus a memcmp
 * call cost more).
 */
static inline const struct au_key *
au_known_key(struct ms_str k, uint64_t w)
{
	size_t h = au_key_slot(w, k.len);

	/*
	 * The table is built before the first record is read (decode_auditd).
	 * Word and length first: the usual hit costs two compares, the NULL
	 * test of the slot comes after them (an empty slot has both 0: only
	 * an empty key meets it there).
	 */
	for (;; h = (h + 1) & (AU_KEY_SLOTS - 1)) {
		const struct au_key *e = &au_key_tab[h];
		size_t i;

		if (e->word == w && e->len == k.len) {
			if (e->name == NULL)
				return NULL;	/* an empty key meets an empty slot */
			for (i = AU_KEY_WORD; i < k.len && e->name[i] == k.p[i]; i++)
				;
			if (i >= k.len)
				return e;
		}
		if (e->name == NULL)
			return NULL;
	}
}

/*
 * Field name for an unknown key k: a scratch copy, or NULL (dropped).
 * *hex: whether the key is one whose value auditd may hex-encode.
 */
static const char *
au_name_slow(struct decoded *d, struct ms_str k, bool *hex)
{
	char *p;

	*hex = au_in(au_hex_keys, MS_ARRAY_LEN(au_hex_keys), k);
	if (k.len == 0 || k.len > AU_MAX_KEY)
		return NULL;
	for (size_t i = 0; i < k.len; i++)
		if (!au_key_char(k.p[i]))
			return NULL;
	if ((p = decode_scratch(d, k.len + 1)) == NULL)
		return NULL;
	memcpy(p, k.p, k.len);
	p[k.len] = '\0';
	return p;
}

/*
 * The field name for key k (w: au_key_word of it): its key table entry,
 * or *tmp filled with a scratch copy of the name (counted in seen), or
 * NULL (dropped).
 */
static inline const struct au_key *
au_name(struct decoded *d, struct ms_str k, uint64_t w, struct au_seen *seen, struct au_key *tmp)
{
	const struct au_key *known = au_known_key(k, w);

	if (known != NULL)
		return known;
	if ((tmp->name = au_name_slow(d, k, &tmp->hex)) == NULL)
		return NULL;
	tmp->bit = decode_name_bit(tmp->name);
	tmp->role = AU_R_NONE;
	seen->copies++;
	return tmp;
}

/* Adds the field of key entry e with value v; notes a role's field in seen. */
static inline void
au_add(struct decoded *d, const struct au_key *e, struct ms_str v, struct au_seen *seen)
{
	if (decode_field_add_bit(d, e->name, e->bit, v.p, v.len) < 0 || e->role == AU_R_NONE)
		return;
	if (e->role == AU_R_SYSCALL)
		seen->last_syscall = d->nfields;
	if (seen->first[e->role] == 0)
		seen->first[e->role] = d->nfields;
}

/* Room left for record fields, keeping AU_RESERVED_FIELDS for ours. */
static bool
au_room(const struct decoded *d)
{
	return d->nfields < DECODE_MAX_FIELDS - AU_RESERVED_FIELDS;
}

/*
 * Hex-decodes v into scratch; proctitle's NUL separators become spaces and
 * trailing ones go. Returns v unchanged when scratch is full (the value
 * stays as auditd wrote it rather than vanish).
 */
static struct ms_str
au_unhex(struct decoded *d, struct ms_str v, bool nul_to_space)
{
	size_t n = v.len / 2;
	char *p = decode_scratch(d, n > 0 ? n : 1);

	if (p == NULL)
		return v;
	for (size_t i = 0; i < n; i++) {
		char c = (char)(au_hexval(v.p[2 * i]) << 4 | au_hexval(v.p[2 * i + 1]));
		p[i] = (nul_to_space && c == '\0') ? ' ' : c;
	}
	if (nul_to_space)
		while (n > 0 && p[n - 1] == ' ')
			n--;
	return ms_str_make(p, n);
}

/* A copy of v in scratch, or an empty slice when scratch is full. */
static int
au_add_copy(struct decoded *d, const char *name, const char *v, size_t len)
{
	char *p = decode_scratch(d, len > 0 ? len : 1);

	if (p == NULL)
		return -1;
	memcpy(p, v, len);
	return decode_field_add(d, name, p, len);
}

/*
 * Copies the n bytes of v into dst, a slot of cap bytes, and returns the
 * length kept: all of v when it fits, else its first cap / 2 and its last
 * cap - cap / 2 bytes, and *cut is set. Linux takes paths of up to 4,096
 * bytes: a tool run from a directory deeper than a slot would otherwise
 * lose its name, and with it every Image|endswith rule (the usual kind on
 * a process). Kept this way, startswith and endswith of up to half a slot
 * still match; what is lost is an exact match of the whole value and a
 * contains across the gap (docs/rules.md).
 */
static inline size_t
au_keep_ends(char *dst, size_t cap, const char *v, size_t n, bool *cut)
{
	size_t head = cap / 2;

	if (n <= cap) {
		if (n > 0)
			memcpy(dst, v, n);
		return n;
	}
	memcpy(dst, v, head);
	memcpy(dst + head, v + n - (cap - head), cap - head);
	*cut = true;
	return cap;
}

/* ---- the header ------------------------------------------------------ */

struct au_head {
	struct ms_str node;
	struct ms_str type;	/* slice of the line or a static name */
	struct ms_str serial;
	uint64_t serial_num;	/* serial's value */
	int64_t time_ms;
	size_t body;		/* offset of the first key=value */
};

/*
 * The end of the run of digits at s[i] (n at most); *v its value, which
 * wraps (unsigned, defined) beyond 19 digits – longer runs are rejected
 * by the callers anyway.
 */
static size_t
au_digits(const char *s, size_t n, size_t i, uint64_t *v)
{
	uint64_t x = 0;
	size_t j;
	unsigned c;

	for (j = i; j < n && (c = (unsigned)(s[j] - '0')) <= 9; j++)
		x = x * 10 + c;
	*v = x;
	return j;
}

/*
 * Parses "[printk time] audit: node=N type=T msg=audit(S.M:SERIAL): " (all
 * but type and the stamp optional). Returns 0, or -1 when s is no audit
 * record – decided within the first bytes for ordinary lines.
 */
static int
au_head_parse(const char *s, size_t n, struct au_head *h)
{
	size_t i = 0, j;
	uint64_t sec, frac, serial;

	if (!decode_auditd_maybe(s, n))
		return -1;
	memset(h, 0, sizeof(*h));
	if (s[0] == '[') {
		/* kernel printk time "[  123.456789] " */
		for (j = 1; j < n && j < 32 && s[j] != ']'; j++)
			;
		if (j >= n || s[j] != ']')
			return -1;
		i = j + 1;
		while (i < n && s[i] == ' ')
			i++;
	}
	if (au_startswith(s, n, i, "audit: "))
		i += 7;
	if (au_startswith(s, n, i, "node=")) {
		i += 5;
		for (j = i; j < n && s[j] != ' '; j++)
			;
		h->node = ms_str_make(s + i, j - i);
		i = j;
		while (i < n && s[i] == ' ')
			i++;
	}
	if (!au_startswith(s, n, i, "type="))
		return -1;
	i += 5;
	for (j = i; j < n && s[j] != ' '; j++)
		;
	h->type = ms_str_make(s + i, j - i);
	if (h->type.len == 0)
		return -1;
	i = j;
	while (i < n && s[i] == ' ')
		i++;
	if (au_startswith(s, n, i, "msg=audit("))
		i += 10;
	else if (au_startswith(s, n, i, "audit("))
		i += 6;
	else
		return -1;
	/* SECONDS.FRACTION:SERIAL), each number read in the scan that finds its end */
	j = au_digits(s, n, i, &sec);
	if (j == i || j - i > AU_MAX_SEC_DIGITS || j >= n || s[j] != '.')
		return -1;
	i = j + 1;
	/* milliseconds: the first three digits (auditd writes exactly three) */
	j = au_digits(s, n, i, &frac);
	if (j == i || j - i > AU_MAX_FRAC_DIGITS || j >= n || s[j] != ':')
		return -1;
	/* at most 9 digits: no wrap; down or up to three digits */
	for (size_t k = j - i; k > 3; k--)
		frac /= 10;
	for (size_t k = j - i; k < 3; k++)
		frac *= 10;
	i = j + 1;
	j = au_digits(s, n, i, &serial);
	h->serial = ms_str_make(s + i, j - i);
	if (j == i || j - i > AU_MAX_SERIAL_DIGITS || j >= n || s[j] != ')')
		return -1;
	i = j + 1;
	if (i < n && s[i] == ':')
		i++;
	h->time_ms = (int64_t)sec * 1000 + (int64_t)frac;
	h->serial_num = serial;
	h->body = i;
	return 0;
}

/* A numeric type ("1300") becomes its name; others are left as they are. */
static struct ms_str
au_type_name(struct ms_str t)
{
	uint64_t num;

	if (au_parse_u64(t, 5, &num) < 0)
		return t;
	for (size_t i = 0; i < MS_ARRAY_LEN(au_types); i++)
		if (au_types[i].num == num)
			return ms_str_make(au_types[i].name, strlen(au_types[i].name));
	return t;
}

/* ---- key=value lists ------------------------------------------------- */

enum au_part { AU_BODY, AU_INNER, AU_ENRICHED };

/* Bytes that end a key: one table load per byte instead of two compares. */
static const bool au_key_stop[256] = { [' '] = true, ['='] = true };

#define AU_ONES UINT64_C(0x0101010101010101)
#define AU_HIGHS UINT64_C(0x8080808080808080)

/* High bit set in each byte of x equal to c; exact up to the lowest one. */
static inline uint64_t
au_bytes_eq(uint64_t x, unsigned char c)
{
	uint64_t y = x ^ (AU_ONES * c);

	return (y - AU_ONES) & ~y & AU_HIGHS;
}

/*
 * The end of the key at s[i] (the first ' ' or '=' at or after i, or n)
 * and in *w its au_key_word. Eight bytes at a time where eight are left
 * in the line (keys are short: one load, no loop), byte by byte near its
 * end and on big-endian machines.
 */
static inline size_t
au_scan_key(const char *s, size_t n, size_t i, uint64_t *w, size_t *ve)
{
	size_t j;
	uint64_t v = 0;

	*ve = 0;
#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * 16 bytes at once: one compare each for ' ' and '=' gives the key's
	 * end and, when the pair is shorter than 16 bytes (most of a SYSCALL
	 * record's are), the unquoted value's end too, so au_kv does not scan
	 * the value again.
	 */
	if (n - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
		unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('=')));
		unsigned stop = sp | eq;
		uint64_t lo = (uint64_t)_mm_cvtsi128_si64(x);

		if (stop != 0) {
			size_t len = (size_t)__builtin_ctz(stop);

			*w = len >= 8 ? lo : lo & ((UINT64_C(1) << (8 * len)) - 1);
			if (eq & (1u << len)) {
				/* the value's end: the first ' ' after the '=' (none before it) */
				*ve = sp != 0 ? i + (size_t)__builtin_ctz(sp) : decode_find(s, n, i + 16, ' ');
			}
			return i + len;
		}
		*w = lo;
		for (j = i + 16; j < n && !au_key_stop[(unsigned char)s[j]]; j++)
			;
		return j;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n - i >= 8) {
		uint64_t x, m;

		memcpy(&x, s + i, 8);
		m = au_bytes_eq(x, ' ') | au_bytes_eq(x, '=');
		if (m != 0) {
			size_t len = (size_t)__builtin_ctzll(m) / 8;
			*w = x & ((UINT64_C(1) << (8 * len)) - 1);	/* len <= 7 */
			return i + len;
		}
		/* a key of 8 bytes or more: the word is its first 8 */
		*w = x;
		for (j = i + 8; j < n && !au_key_stop[(unsigned char)s[j]]; j++)
			;
		return j;
	}
#endif
	for (j = i; j < n && !au_key_stop[(unsigned char)s[j]]; j++)
		if (j - i < AU_KEY_WORD)
			v |= (uint64_t)(unsigned char)s[j] << (8 * (j - i));
	*w = v;
	return j;
}

/*
 * Adds every key=value of s/n as a field. Tokens without '=' are skipped;
 * an unterminated quote runs to the end. In AU_BODY a single-quoted msg
 * (userspace records) is added as "msg" and its own key=values as fields.
 */
static void
au_kv(struct decoded *d, const char *s, size_t n, enum au_part part, bool execve,
    struct au_seen *seen)
{
	size_t i = 0;

	while (i < n) {
		struct ms_str k, v;
		const struct au_key *e;
		struct au_key tmp;
		bool quoted = false;
		char q;
		size_t j, ve;
		uint64_t w;

		while (i < n && s[i] == ' ')
			i++;
		j = au_scan_key(s, n, i, &w, &ve);
		if (j >= n || s[j] != '=') {
			i = j;	/* a bare word such as "(null)": skipped */
			continue;
		}
		k = ms_str_make(s + i, j - i);
		i = j + 1;
		if (i < n && (s[i] == '"' || s[i] == '\'')) {
			const char *qe;
			q = s[i++];
			qe = memchr(s + i, q, n - i);
			j = qe != NULL ? (size_t)(qe - s) : n;
			v = ms_str_make(s + i, j - i);
			quoted = q == '"';
			i = j < n ? j + 1 : n;
			if (q == '\'' && part == AU_BODY) {
				if (au_room(d) && (e = au_name(d, k, w, seen, &tmp)) != NULL)
					au_add(d, e, v, seen);
				au_kv(d, v.p, v.len, AU_INNER, false, seen);
				continue;
			}
		} else {
			/* the key's scan may have found the value's end already */
			j = ve != 0 ? ve : decode_find(s, n, i, ' ');
			v = ms_str_make(s + i, j - i);
			i = j;
		}
		if (k.len == 0 || !au_room(d))
			continue;
		if ((e = au_name(d, k, w, seen, &tmp)) == NULL)
			continue;
		if (!quoted && part != AU_ENRICHED && (e->hex || (execve && au_is_arg_key(k)))) {
			/*
			 * The kernel writes "(null)" unquoted where one of these
			 * has no value (key=(null): no audit rule key; exe=,
			 * name=): the field is absent, as a rule's "key: null"
			 * expects. Checked here, for the few keys of a record
			 * that can be hex, not for every value.
			 */
			if (v.len == 6 && v.p[0] == '(' && memcmp(v.p, "(null)", 6) == 0) {
				seen->nulled |= 1u << e->role;
				continue;
			}
			if (au_is_hex(v))
				v = au_unhex(d, v, ms_str_eq(k, "proctitle"));
		}
		au_add(d, e, v, seen);
	}
}

/* ---- derived fields -------------------------------------------------- */

/* "SYSCALL": the name of an x86_64 syscall number, as enriched logs have it. */
static void
au_add_syscall_name(struct decoded *d, const struct au_seen *seen)
{
	const struct ms_str *arch, *sc;
	const char *nm;
	uint64_t num;

	/* an exact "SYSCALL" already (the enriched part's) */
	if (seen->first[AU_R_SYSCALL_NAME] != 0)
		return;
	/* the first exact "arch", else decode_field_get's any-case match */
	arch = seen->first[AU_R_ARCH] != 0 ? &d->fields[seen->first[AU_R_ARCH] - 1].value :
	    decode_field_get(d, "arch");
	/* the last exact "syscall" (decode_field_get would fall back to "SYSCALL") */
	sc = seen->last_syscall != 0 ? &d->fields[seen->last_syscall - 1].value : NULL;
	if (arch == NULL || sc == NULL || !ms_str_eq(*arch, "c000003e") ||
	    au_parse_u64(*sc, 4, &num) < 0)
		return;
	if (!au_key_ready)
		au_key_table();
	if (num >= AU_SYSCALL_NUMS || au_syscall_idx[num] == 0)
		return;
	nm = au_syscalls_x86_64[au_syscall_idx[num] - 1].name;
	(void)decode_field_add(d, "SYSCALL", nm, strlen(nm));
}

/*
 * The EXECVE arguments of d joined as au_cmdline joins them (the rare
 * case of a joined length over AU_CMDLINE_MAX): returns the joined
 * length, and with p writes there the first cap / 2 and the last
 * cap - cap / 2 of its full bytes (full > cap; au_keep_ends).
 */
static size_t
au_cmdline_ends(const struct decoded *d, char *p, size_t cap, size_t full)
{
	size_t head = cap / 2, from = full - (cap - head), pos = 0;

	for (size_t i = 0; i < d->nfields; i++) {
		const char *nm = d->fields[i].name, *br;
		struct ms_str v = d->fields[i].value;
		size_t a, b;

		if (nm[0] != 'a' || !au_is_arg_key(ms_str_make(nm, strlen(nm))))
			continue;
		br = strchr(nm, '[');
		/* a separator where au_cmdline puts one: after something, not before a piece */
		if (pos > 0 && !(br != NULL && strcmp(br, "[0]") != 0)) {
			if (p != NULL && pos < head)
				p[pos] = ' ';
			else if (p != NULL && pos >= from)
				p[head + pos - from] = ' ';
			pos++;
		}
		a = pos;
		b = pos + v.len;
		pos = b;
		if (p == NULL)
			continue;
		/* the part of [a, b) before head, and the part from from on */
		if (a < head)
			memcpy(p + a, v.p, (b < head ? b : head) - a);
		if (b > from && b > a) {
			size_t st = a > from ? a : from;

			memcpy(p + head + (st - from), v.p + (st - a), b - st);
		}
	}
	return pos;
}

/*
 * The EXECVE arguments joined by spaces ("a1[0]" pieces glued), in
 * scratch; longer than AU_CMDLINE_MAX, its ends (au_cmdline_ends) and
 * *cut set.
 */
static struct ms_str
au_cmdline(struct decoded *d, bool *cut)
{
	size_t total = 0, w = 0, nf = d->nfields;
	char *p;

	/* nm[0] first: only "a..." names can be arguments, and most names are not */
	for (size_t i = 0; i < nf; i++) {
		const char *nm = d->fields[i].name;
		if (nm[0] == 'a' && au_is_arg_key(ms_str_make(nm, strlen(nm))))
			total += d->fields[i].value.len + 1;
	}
	if (total == 0)
		return MS_STR_NULL;
	if (total > AU_CMDLINE_MAX) {
		/*
		 * total counted a separator for every piece: the joined value
		 * may fit still. The kernel writes at most 7,500 bytes of
		 * arguments to a record, so only a forged line is longer.
		 */
		size_t full = au_cmdline_ends(d, NULL, AU_CMDLINE_MAX, 0);

		if (full > AU_CMDLINE_MAX) {
			if ((p = decode_scratch(d, AU_CMDLINE_MAX)) == NULL)
				return MS_STR_NULL;
			*cut = true;
			(void)au_cmdline_ends(d, p, AU_CMDLINE_MAX, full);
			return ms_str_make(p, AU_CMDLINE_MAX);
		}
		total = full > 0 ? full : 1;
	}
	if ((p = decode_scratch(d, total)) == NULL)
		return MS_STR_NULL;
	for (size_t i = 0; i < nf; i++) {
		const char *nm = d->fields[i].name;
		struct ms_str v = d->fields[i].value;
		const char *br;
		size_t take;

		if (nm[0] != 'a' || !au_is_arg_key(ms_str_make(nm, strlen(nm))))
			continue;
		br = strchr(nm, '[');
		/* a piece after the first of a split argument continues it */
		if (w > 0 && !(br != NULL && strcmp(br, "[0]") != 0)) {
			if (w >= total)
				break;
			p[w++] = ' ';
		}
		take = v.len < total - w ? v.len : total - w;
		memcpy(p + w, v.p, take);
		w += take;
	}
	return ms_str_make(p, w);
}

/*
 * An argument longer than the kernel's split size comes as "aN_len=L
 * aN[0]=... aN[1]=...": the pieces of each such argument, in the order
 * they came, joined into one field "aN" (au_keys's name for N < 32, else
 * a scratch copy), as rules read the argument. Only pieces are copies
 * (seen->copies), so the caller skips this for other records.
 */
static void
au_join_split(struct decoded *d)
{
	unsigned nf = d->nfields;

	for (unsigned i = 0; i < nf && au_room(d);) {
		const char *nm = d->fields[i].name, *br, *name;
		size_t plen, total = 0, w = 0;
		unsigned j;
		uint64_t num;
		char *p;

		if (nm[0] != 'a' || (br = strchr(nm, '[')) == NULL ||
		    !au_is_arg_key(ms_str_make(nm, strlen(nm)))) {
			i++;
			continue;
		}
		/* the run of pieces "aN[...]" from i: their names start with "aN[" */
		plen = (size_t)(br - nm) + 1;
		for (j = i; j < nf && strncmp(d->fields[j].name, nm, plen) == 0 &&
		    au_is_arg_key(ms_str_make(d->fields[j].name, strlen(d->fields[j].name))); j++)
			total += d->fields[j].value.len;
		if (au_parse_u64(ms_str_make(nm + 1, plen - 2), 9, &num) == 0 && num < 32)
			name = au_keys[num];
		else if ((p = decode_scratch(d, plen)) != NULL) {
			memcpy(p, nm, plen - 1);
			p[plen - 1] = '\0';
			name = p;
		} else
			return;
		if ((p = decode_scratch(d, total > 0 ? total : 1)) == NULL)
			return;
		for (unsigned k = i; k < j; k++) {
			memcpy(p + w, d->fields[k].value.p, d->fields[k].value.len);
			w += d->fields[k].value.len;
		}
		(void)decode_field_add(d, name, p, w);
		i = j;
	}
}

/* ---- the cache ------------------------------------------------------- */

struct decode_auditd_cache *
decode_auditd_cache_new(void)
{
	return calloc(1, sizeof(struct decode_auditd_cache));
}

void
decode_auditd_cache_free(struct decode_auditd_cache *c)
{
	free(c);
}

/* FNV-1a: agent ids are short, and a collision only mixes two agents' enrichment. */
static uint64_t
au_agent_hash(const char *id)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; id != NULL && *id; id++)
		h = (h ^ (unsigned char)*id) * UINT64_C(1099511628211);
	return h;
}

/*
 * The set of an agent: the hash's low bits mix little (FNV-1a ends with a
 * multiplication), so multiplied once more and its top bits.
 */
static unsigned
au_set_of(uint64_t agent)
{
	return (unsigned)((agent * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - AU_CACHE_SET_BITS));
}

/*
 * The tag of an event. The agent hash is already mixed (FNV-1a); time
 * and serial are folded in and mixed once more, so events of one agent
 * with consecutive serials get unrelated tags. Never 0 (an empty way).
 */
static uint32_t
au_tag(uint64_t agent, int64_t t, uint64_t serial)
{
	uint64_t h = agent ^ ((uint64_t)t * UINT64_C(0x9e3779b97f4a7c15)) ^ serial;

	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return (uint32_t)h | 1u;
}

/* The way of event (agent, t, serial) in set st, tag its au_tag, or -1. */
static int
au_cache_way(const struct au_set *st, uint32_t tag, uint64_t agent, int64_t t, uint64_t serial)
{
	uint32_t m = 0;

	_Static_assert(AU_CACHE_WAYS == 32, "a set's ways are the bits of one uint32_t");
	/* every auditd line looks up its event: the ways whose tag matches, 4 at a time */
#if defined(__SSE2__)
	{
		__m128i x = _mm_set1_epi32((int)tag);

		for (int w = 0; w < AU_CACHE_WAYS; w += 4) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(st->tag + w));
			m |= (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, x))) << w;
		}
	}
#else
	for (int w = 0; w < AU_CACHE_WAYS; w++)
		m |= (uint32_t)(st->tag[w] == tag) << w;
#endif
	/* at most one way per event: au_cache_syscall looks before it adds */
	for (; m != 0; m &= m - 1) {
		int w = __builtin_ctz(m);

		if (st->serial[w] == serial && st->time_ms[w] == t && st->agent[w] == agent)
			return w;
	}
	return -1;
}

static struct au_entry *
au_cache_find(struct decode_auditd_cache *c, uint64_t agent, int64_t t, uint64_t serial)
{
	unsigned si = au_set_of(agent);
	int w = au_cache_way(&c->set[si], au_tag(agent, t, serial), agent, t, serial);

	return w >= 0 ? &c->e[si][w] : NULL;
}

/* Takes owner o's oldest way out of its ring (and o out of the set when that was its last). */
static unsigned
au_owner_pop(struct au_set *st, struct au_owner *o)
{
	unsigned w = o->way[o->head];

	o->head = (unsigned char)((o->head + 1) % AU_CACHE_AGENT_WAYS);
	if (--o->n == 0)
		*o = st->owner[--st->nowners];
	return w;
}

/*
 * The way a new event of agent takes in st, already at the end of the
 * agent's ring: its own oldest when it holds AU_CACHE_AGENT_WAYS already,
 * otherwise an empty way, else the set's oldest (the oldest of some
 * owner's, so one pass over the owners – a few – finds it).
 */
static unsigned
au_cache_take(struct au_set *st, uint64_t agent)
{
	struct au_owner *o = NULL;
	unsigned w;

	for (unsigned k = 0; k < st->nowners; k++)
		if (st->owner[k].agent == agent) {
			o = &st->owner[k];
			break;
		}
	if (o != NULL && o->n == AU_CACHE_AGENT_WAYS) {
		/* its oldest becomes its newest: the ring turns by one */
		w = o->way[o->head];
		o->head = (unsigned char)((o->head + 1) % AU_CACHE_AGENT_WAYS);
		return w;
	}
	if (st->used < AU_CACHE_WAYS) {
		w = st->used++;
	} else {
		unsigned b = 0;

		for (unsigned k = 1; k < st->nowners; k++)
			if (st->age[st->owner[k].way[st->owner[k].head]] <
			    st->age[st->owner[b].way[st->owner[b].head]])
				b = k;
		/* the pop may move the last owner into b's place: o follows it */
		if (o == &st->owner[b] && o->n == 1)
			o = NULL;
		else if (o == &st->owner[st->nowners - 1] && st->owner[b].n == 1)
			o = &st->owner[b];
		w = au_owner_pop(st, &st->owner[b]);
	}
	if (o == NULL) {
		/* fewer owners than filled ways, and one way is free now: room */
		o = &st->owner[st->nowners++];
		o->agent = agent;
		o->head = 0;
		o->n = 0;
	}
	o->way[(o->head + o->n) % AU_CACHE_AGENT_WAYS] = (unsigned char)w;
	o->n++;
	return w;
}

/* v (NULL: none) into a slot; returns whether only its ends are kept. */
static inline bool
au_keep(char *dst, size_t cap, size_t *len, bool *has, const struct ms_str *v)
{
	bool cut = false;

	*has = v != NULL;
	*len = v != NULL ? au_keep_ends(dst, cap, v->p, v->len, &cut) : 0;
	return cut;
}

/*
 * The first field named exe, comm, uid, auid and key of d, as
 * decode_field_get finds them (exact name first, else any case), in one
 * pass over the fields instead of one per name.
 */
static void
au_syscall_fields(const struct decoded *d, const struct au_seen *seen,
    const struct ms_str *v[AU_KEEP_N])
{
	static const char *const names[AU_KEEP_N] = { "exe", "comm", "uid", "auid", "key" };
	static const unsigned char roles[AU_KEEP_N] = { AU_R_EXE, AU_R_COMM, AU_R_UID, AU_R_AUID, AU_R_KEY };

	for (int k = 0; k < AU_KEEP_N; k++) {
		unsigned f = seen->first[roles[k]];

		/*
		 * A name only in another case: as rare as decode_field_get's
		 * second pass. A key=(null) is known to be absent: no search.
		 */
		v[k] = f != 0 ? &d->fields[f - 1].value :
		    (seen->nulled & (1u << roles[k])) != 0 ? NULL : decode_field_get(d, names[k]);
	}
}

/* The pid in field f (index + 1, 0: none) of d; false when there is none or it is no number. */
static bool
au_pid_of(const struct decoded *d, unsigned f, uint32_t *out)
{
	uint64_t x;

	if (f == 0 || au_parse_u64(d->fields[f - 1].value, 10, &x) < 0 || x > UINT32_MAX)
		return false;
	*out = (uint32_t)x;
	return true;
}

/* Remembers the SYSCALL record d of event (agent, t, serial). */
static void
au_cache_syscall(struct decode_auditd_cache *c, uint64_t agent, int64_t t, uint64_t serial,
    const struct decoded *d, const struct au_seen *seen)
{
	unsigned si = au_set_of(agent);
	struct au_set *st = &c->set[si];
	uint32_t tag = au_tag(agent, t, serial);
	int w = au_cache_way(st, tag, agent, t, serial);
	struct au_entry *e;
	const struct ms_str *v[AU_KEEP_N];

	_Static_assert(AU_CACHE_AGENT_WAYS >= 1 && AU_CACHE_AGENT_WAYS <= AU_CACHE_WAYS,
	    "an agent's share is part of a set");

	if (w < 0) {
		w = (int)au_cache_take(st, agent);
		st->tag[w] = tag;
		st->agent[w] = agent;
		st->time_ms[w] = t;
		st->serial[w] = serial;
		st->age[w] = ++st->added;
	}
	e = &c->e[si][w];
	au_syscall_fields(d, seen, v);
	e->cut = (unsigned char)(
	    au_keep(e->exe, sizeof(e->exe), &e->exe_len, &e->has_exe, v[AU_KEEP_EXE]) << AU_KEEP_EXE |
	    au_keep(e->comm, sizeof(e->comm), &e->comm_len, &e->has_comm, v[AU_KEEP_COMM]) << AU_KEEP_COMM |
	    au_keep(e->uid, sizeof(e->uid), &e->uid_len, &e->has_uid, v[AU_KEEP_UID]) << AU_KEEP_UID |
	    au_keep(e->auid, sizeof(e->auid), &e->auid_len, &e->has_auid, v[AU_KEEP_AUID]) << AU_KEEP_AUID |
	    au_keep(e->key, sizeof(e->key), &e->key_len, &e->has_key, v[AU_KEEP_KEY]) << AU_KEEP_KEY);
	e->has_cmd = false;
	e->cmd_len = 0;
	/* exact names only: the kernel writes them so */
	e->has_pid = au_pid_of(d, seen->first[AU_R_PID], &e->pid);
	e->has_ppid = au_pid_of(d, seen->first[AU_R_PPID], &e->ppid);
	e->failed = seen->first[AU_R_SUCCESS] != 0 &&
	    ms_str_eq(d->fields[seen->first[AU_R_SUCCESS] - 1].value, "no");
}

/* au_enrich's bits of the fields a record has already. */
enum { AU_H_EXE = 1, AU_H_COMM = 2, AU_H_UID = 4, AU_H_AUID = 8, AU_H_KEY = 16, AU_H_IMAGE = 32,
	AU_H_CMD = 64 };

/*
 * Whether au_enrich adds one of e's cut values to a record that has the
 * fields have. Out of line: au_enrich's usual case is one test of e->cut.
 */
static bool __attribute__((noinline))
au_cut_added(const struct au_entry *e, unsigned have)
{
	/* the fields each e->cut bit (1 << AU_KEEP_*) stands for: exe is also Image */
	static const unsigned fields[] = {
		[AU_KEEP_EXE] = AU_H_EXE | AU_H_IMAGE, [AU_KEEP_COMM] = AU_H_COMM,
		[AU_KEEP_UID] = AU_H_UID, [AU_KEEP_AUID] = AU_H_AUID, [AU_KEEP_KEY] = AU_H_KEY,
		[AU_KEEP_CMD] = AU_H_CMD,
	};

	for (unsigned k = 0; k < MS_ARRAY_LEN(fields); k++)
		if ((e->cut & (1u << k)) && (fields[k] & ~have))
			return true;
	return false;
}

/*
 * Adds exe, comm, uid, auid, key, Image and CommandLine from e to d, each
 * unless d has a field of that exact name already (one pass finds which).
 */
static void
au_enrich(struct decoded *d, const struct au_entry *e, const struct au_seen *seen, bool cmd_added)
{
	enum { EXE = AU_H_EXE, COMM = AU_H_COMM, UID = AU_H_UID, AUID = AU_H_AUID, KEY = AU_H_KEY,
		IMAGE = AU_H_IMAGE, CMD = AU_H_CMD };
	unsigned have = 0;

	/*
	 * Without scratch-named fields the names are known: the record's from
	 * the key table (no "Image" or "CommandLine" there), ours, and the
	 * CommandLine of an EXECVE record.
	 */
	if (seen->copies == 0) {
		have = (seen->first[AU_R_EXE] ? EXE : 0) | (seen->first[AU_R_COMM] ? COMM : 0) |
		    (seen->first[AU_R_UID] ? UID : 0) | (seen->first[AU_R_AUID] ? AUID : 0) |
		    (seen->first[AU_R_KEY] ? KEY : 0) | (cmd_added ? CMD : 0);
	}
	for (unsigned i = 0; seen->copies != 0 && i < d->nfields; i++) {
		const char *nm = d->fields[i].name;

		switch (nm[0]) {
		case 'e': have |= strcmp(nm, "exe") == 0 ? EXE : 0; break;
		case 'c': have |= strcmp(nm, "comm") == 0 ? COMM : 0; break;
		case 'u': have |= strcmp(nm, "uid") == 0 ? UID : 0; break;
		case 'a': have |= strcmp(nm, "auid") == 0 ? AUID : 0; break;
		case 'k': have |= strcmp(nm, "key") == 0 ? KEY : 0; break;
		case 'I': have |= strcmp(nm, "Image") == 0 ? IMAGE : 0; break;
		case 'C': have |= strcmp(nm, "CommandLine") == 0 ? CMD : 0; break;
		default: break;
		}
	}
	{
		/* what to add, in this order; each copy takes max(len, 1) bytes of scratch */
		const struct { unsigned bit; bool has; const char *name, *v; size_t len; } add[] = {
			{ EXE, e->has_exe, "exe", e->exe, e->exe_len },
			{ COMM, e->has_comm, "comm", e->comm, e->comm_len },
			{ UID, e->has_uid, "uid", e->uid, e->uid_len },
			{ AUID, e->has_auid, "auid", e->auid, e->auid_len },
			{ KEY, e->has_key, "key", e->key, e->key_len },
			{ IMAGE, e->has_exe, "Image", e->exe, e->exe_len },
			{ CMD, e->has_cmd, "CommandLine", e->cmd, e->cmd_len },
		};
		size_t total = 0;
		char *p;

		/* a value kept cut (rare): the event is flagged when it gets it */
		if (e->cut != 0 && au_cut_added(e, have))
			d->values_cut = true;
		for (size_t k = 0; k < MS_ARRAY_LEN(add); k++)
			if (!(have & add[k].bit) && add[k].has)
				total += add[k].len > 0 ? add[k].len : 1;
		/*
		 * One reservation for all the copies (the same bytes as one per
		 * copy); when it does not fit, copy by copy as far as they fit.
		 */
		p = decode_scratch(d, total);
		for (size_t k = 0; k < MS_ARRAY_LEN(add); k++) {
			if ((have & add[k].bit) || !add[k].has)
				continue;
			if (p == NULL) {
				(void)au_add_copy(d, add[k].name, add[k].v, add[k].len);
				continue;
			}
			memcpy(p, add[k].v, add[k].len);
			(void)decode_field_add(d, add[k].name, p, add[k].len);
			p += add[k].len > 0 ? add[k].len : 1;
		}
	}
}

/* ---- parent processes ---------------------------------------------- */

static unsigned
au_pt_bucket(uint64_t agent, uint32_t pid)
{
	uint64_t h = (agent ^ ((uint64_t)pid * UINT64_C(0xbf58476d1ce4e5b9))) * UINT64_C(0x9e3779b97f4a7c15);

	return (unsigned)(h >> (64 - AU_PT_BUCKET_BITS));
}

/* The way of process (agent, pid) in bucket b, or -1. */
static int
au_pt_way(const struct au_pbucket *b, uint64_t agent, uint32_t pid)
{
	for (int w = 0; w < AU_PT_WAYS; w++)
		if (b->pid[w] == pid && b->used[w] != 0 && b->agent[w] == agent)
			return w;
	return -1;
}

/*
 * The way process (agent, pid) takes in bucket b (see struct au_ptable):
 * its own, else the agent's least recently used when it holds its share,
 * else an empty way, else the bucket's least recently used.
 */
static int
au_pt_take(const struct au_pbucket *b, uint64_t agent, uint32_t pid)
{
	int own = -1, empty = -1, lru = 0;
	unsigned nown = 0;

	for (int w = 0; w < AU_PT_WAYS; w++) {
		if (b->used[w] == 0) {
			if (empty < 0)
				empty = w;
			continue;
		}
		if (b->agent[w] == agent) {
			if (b->pid[w] == pid)
				return w;
			nown++;
			if (own < 0 || b->used[w] < b->used[own])
				own = w;
		}
		if (b->used[lru] == 0 || b->used[w] < b->used[lru])
			lru = w;
	}
	if (nown >= AU_PT_AGENT_WAYS)
		return own;
	return empty >= 0 ? empty : lru;
}

/* v/n (present: else none) into a slot; was_cut: v is already only the ends of a value. */
static void
au_pt_copy(char *dst, size_t cap, uint16_t *len, bool *has, bool *cut, const char *v, size_t n,
    bool present, bool was_cut)
{
	*has = present;
	*cut = present && was_cut;
	*len = (uint16_t)(present ? au_keep_ends(dst, cap, v, n, cut) : 0);
}

/*
 * An EXECVE record d of event e (cmd: its CommandLine, or NULL; cmd_cut:
 * that is only its ends): adds the parent's ParentImage and
 * ParentCommandLine when e's ppid is known (and d has no such field of
 * its own), then remembers e's process under its pid unless the exec
 * failed.
 */
static void
au_parent(struct au_ptable *pt, uint64_t agent, const struct au_entry *e, struct decoded *d,
    const struct au_seen *seen, struct ms_str cmd, bool cmd_cut)
{
	struct au_pbucket *b;
	struct au_proc *p;
	unsigned bi;
	int w;

	_Static_assert(AU_PT_EXE <= UINT16_MAX && AU_PT_CMD <= UINT16_MAX, "lengths fit uint16_t");
	if (e->has_ppid) {
		bi = au_pt_bucket(agent, e->ppid);
		b = &pt->b[bi];
		if ((w = au_pt_way(b, agent, e->ppid)) >= 0) {
			bool own_img = false, own_cmd = false;

			/* a parent in use stays: its children keep coming */
			b->used[w] = ++pt->clock;
			p = &pt->p[bi][w];
			for (unsigned i = 0; seen->copies != 0 && i < d->nfields; i++) {
				own_img |= strcmp(d->fields[i].name, "ParentImage") == 0;
				own_cmd |= strcmp(d->fields[i].name, "ParentCommandLine") == 0;
			}
			if (p->has_exe && !own_img) {
				(void)au_add_copy(d, "ParentImage", p->exe, p->exe_len);
				if (p->exe_cut)
					d->values_cut = true;
			}
			if (p->has_cmd && !own_cmd) {
				(void)au_add_copy(d, "ParentCommandLine", p->cmd, p->cmd_len);
				if (p->cmd_cut)
					d->values_cut = true;
			}
		}
	}
	if (!e->has_pid || e->failed)
		return;
	bi = au_pt_bucket(agent, e->pid);
	b = &pt->b[bi];
	w = au_pt_take(b, agent, e->pid);
	b->agent[w] = agent;
	b->pid[w] = e->pid;
	b->used[w] = ++pt->clock;
	p = &pt->p[bi][w];
	au_pt_copy(p->exe, sizeof(p->exe), &p->exe_len, &p->has_exe, &p->exe_cut, e->exe, e->exe_len,
	    e->has_exe, (e->cut & (1u << AU_KEEP_EXE)) != 0);
	au_pt_copy(p->cmd, sizeof(p->cmd), &p->cmd_len, &p->has_cmd, &p->cmd_cut, cmd.p, cmd.len,
	    cmd.p != NULL, cmd_cut);
}

/* ---- entry point ----------------------------------------------------- */

/*
 * Decodes s/n as one audit record: see decoders.h and the file comment.
 * Returns 1 with logsource, time and fields set, or 0 with d untouched.
 */
int
decode_auditd(struct decoded *d, const struct decode_ctx *ctx, const char *s, size_t n)
{
	struct au_head h;
	struct ms_str type, cmd = MS_STR_NULL;
	const char *sep;
	size_t body_end;
	uint64_t serial = 0, agent;
	struct au_entry *e = NULL;
	struct au_seen seen = { { 0 }, 0, 0, 0 };
	bool execve, syscall, cmd_added = false, cmd_cut = false;

	if (s == NULL || au_head_parse(s, n, &h) < 0)
		return 0;
	if (!au_key_ready)
		au_key_table();
	type = au_type_name(h.type);
	execve = ms_str_eq(type, "EXECVE");
	syscall = ms_str_eq(type, "SYSCALL");
	serial = h.serial_num;

	d->product = "linux";
	d->service = "auditd";
	d->category = execve ? "process_creation" : NULL;
	d->time_ms = h.time_ms;
	d->time_from_line = true;
	(void)decode_field_add(d, "type", type.p, type.len);
	(void)decode_field_add(d, "serial", h.serial.p, h.serial.len);
	if (h.node.len > 0)
		(void)decode_field_add(d, "node", h.node.p, h.node.len);

	sep = memchr(s + h.body, AU_ENRICH_SEP, n - h.body);
	body_end = sep != NULL ? (size_t)(sep - s) : n;
	au_kv(d, s + h.body, body_end - h.body, AU_BODY, execve, &seen);
	if (sep != NULL)
		au_kv(d, sep + 1, n - body_end - 1, AU_ENRICHED, false, &seen);
	if (syscall)
		au_add_syscall_name(d, &seen);
	if (execve && (cmd = au_cmdline(d, &cmd_cut)).p != NULL)
		cmd_added = decode_field_add(d, "CommandLine", cmd.p, cmd.len) == 0;
	if (cmd_cut && cmd_added)
		d->values_cut = true;
	/* after CommandLine: au_cmdline would take the joined arguments for more */
	if (execve && seen.copies != 0)
		au_join_split(d);

	if (ctx == NULL || ctx->auditd == NULL)
		return 1;
	agent = au_agent_hash(ctx->agent_id);
	if (syscall) {
		au_cache_syscall(ctx->auditd, agent, h.time_ms, serial, d, &seen);
		return 1;
	}
	e = au_cache_find(ctx->auditd, agent, h.time_ms, serial);
	if (e == NULL)
		return 1;
	if (execve && cmd.p != NULL) {
		bool cut = cmd_cut;

		e->cmd_len = au_keep_ends(e->cmd, sizeof(e->cmd), cmd.p, cmd.len, &cut);
		/* (a second EXECVE record of the event replaces the first's) */
		if (cut || e->cut != 0)
			e->cut = (unsigned char)((e->cut & ~(1u << AU_KEEP_CMD)) | (unsigned)cut << AU_KEEP_CMD);
		e->has_cmd = true;
	}
	au_enrich(d, e, &seen, cmd_added);
	if (execve)
		au_parent(&ctx->auditd->pt, agent, e, d, &seen, cmd, cmd_cut);
	return 1;
}
