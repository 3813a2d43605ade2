/*
 * Unit tests for decode_line's Sigma view: logsource and named fields for
 * auth.log programs (sshd, sudo, su, PAM, user management, cron,
 * systemd-logind), kernel firewall lines, web access logs and journald
 * JSON records.
 *
 * Table-driven: every row of field_cases becomes its own cmocka test named
 * after the row. A row lists the complete set of fields the line must
 * produce (no more, no fewer), so a new field shows up as a test change.
 * Lines are copied to a heap buffer of exactly their length so
 * AddressSanitizer sees any read past them, and every value must lie in
 * that buffer or in the event's scratch area.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>

#include "decode.h"
#include "detect.h"
#include "ms_buf.h"
#include "ms_json.h"
#include "ms_util.h"
#include "ms_yaml.h"
#include "test_decode_util.h"
#include "test_gen.h"

/* 2025-11-25T16:34:50Z: three seconds after the usual test line. */
#define RECV_NOV25 INT64_C(1764088490000)
/* 2025-11-25T16:34:47Z (date -u -d 2025-11-25T16:34:47Z +%s) */
#define T_NOV25 INT64_C(1764088487000)
#define MAX_EXP 24

#define SYSLOG_PFX "Nov 25 16:34:47 web1 "

struct field_exp {
	const char *name;
	const char *value;
	size_t len;		/* 0: strlen(value) */
};

struct field_case {
	const char *name;
	const char *line;
	const char *product, *service, *category;	/* NULL: must be NULL */
	int64_t time_ms;	/* 0: not checked; else from the line, equal */
	const char *app;	/* NULL: not checked */
	const char *msg;	/* NULL: not checked */
	struct field_exp f[MAX_EXP];
};

#define F(n, v) { (n), (v), 0 }

static const struct field_case field_cases[] = {
	/* ---- sshd ---- */
	{ .name = "sshd failed password",
	  .line = SYSLOG_PFX "sshd[1234]: Failed password for root from 203.0.113.5 port 52144 ssh2",
	  .product = "linux", .service = "sshd", .time_ms = T_NOV25,
	  .f = { F("user", "root"), F("src_ip", "203.0.113.5"), F("src_port", "52144"),
	      F("auth_method", "password"), F("outcome", "failure") } },
	{ .name = "sshd accepted publickey ipv6 (sshd-session)",
	  .line = SYSLOG_PFX "sshd-session[9]: Accepted publickey for bob from 2001:db8::1 port 50000 ssh2: ED25519 SHA256:abc",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "bob"), F("src_ip", "2001:db8::1"), F("src_port", "50000"),
	      F("auth_method", "publickey"), F("outcome", "success") } },
	{ .name = "sshd invalid user",
	  .line = SYSLOG_PFX "sshd[1234]: Invalid user admin from 203.0.113.5 port 52144",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "admin"), F("src_ip", "203.0.113.5"), F("src_port", "52144"),
	      F("outcome", "invalid_user") } },
	{ .name = "sshd failed for invalid user, repeated",
	  .line = SYSLOG_PFX "sshd[1]: message repeated 3 times: [ Failed password for invalid user oracle from 198.51.100.9 port 4242 ssh2]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "oracle"), F("src_ip", "198.51.100.9"), F("src_port", "4242"),
	      F("auth_method", "password"), F("outcome", "failure") } },
	{ .name = "sshd other message: the peer",
	  .line = SYSLOG_PFX "sshd[1234]: Connection closed by 1.2.3.4 port 22 [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("src_ip", "1.2.3.4"), F("src_port", "22") } },
	{ .name = "sshd PAM summary",
	  .line = SYSLOG_PFX "sshd[1234]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
	  .product = "linux", .service = "sshd",
	  .f = { F("count", "2"), F("uid", "0"), F("euid", "0"), F("tty", "ssh"),
	      F("rhost", "1.2.3.4"), F("user", "root"), F("action", "auth_failure"),
	      F("outcome", "failure") } },

	/* ---- PAM, any program ---- */
	{ .name = "pam_unix sshd auth failure",
	  .line = SYSLOG_PFX "sshd[1234]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
	  .product = "linux", .service = "sshd",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "sshd"), F("pam_type", "auth"),
	      F("uid", "0"), F("euid", "0"), F("tty", "ssh"), F("rhost", "1.2.3.4"),
	      F("user", "root"), F("action", "auth_failure"), F("outcome", "failure") } },
	{ .name = "pam_unix session opened with uids",
	  .line = SYSLOG_PFX "sshd[1234]: pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)",
	  .product = "linux", .service = "sshd",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "sshd"), F("pam_type", "session"),
	      F("user", "bob"), F("uid", "1000"), F("action", "session_opened"),
	      F("outcome", "success") } },
	{ .name = "pam_unix session opened, old format",
	  .line = SYSLOG_PFX "login[77]: pam_unix(login:session): session opened for user root by LOGIN(uid=0)",
	  .product = "linux", .service = "login",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "login"), F("pam_type", "session"),
	      F("user", "root"), F("by_user", "LOGIN"), F("action", "session_opened"),
	      F("outcome", "success") } },
	{ .name = "pam_unix session closed",
	  .line = SYSLOG_PFX "sshd[1234]: pam_unix(sshd:session): session closed for user bob",
	  .product = "linux", .service = "sshd",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "sshd"), F("pam_type", "session"),
	      F("user", "bob"), F("action", "session_closed") } },
	{ .name = "pam_unix check pass user unknown",
	  .line = SYSLOG_PFX "sshd[1234]: pam_unix(sshd:auth): check pass; user unknown",
	  .product = "linux", .service = "sshd",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "sshd"), F("pam_type", "auth"),
	      F("action", "auth_failure"), F("outcome", "failure"), F("reason", "user unknown") } },
	{ .name = "pam_faillock locked",
	  .line = SYSLOG_PFX "sshd[1234]: pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked",
	  .product = "linux", .service = "sshd",
	  .f = { F("pam_module", "pam_faillock"), F("pam_service", "sshd"), F("pam_type", "auth"),
	      F("user", "root"), F("action", "account_locked"), F("outcome", "failure") } },
	{ .name = "sshd disconnect: user, last address and port",
	  .line = SYSLOG_PFX "sshd[1]: Disconnecting invalid user admin 203.0.113.77 port 40009: Too many authentication failures [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "admin"), F("src_ip", "203.0.113.77"), F("src_port", "40009") } },
	{ .name = "sshd close: a user name cannot fake the address",
	  .line = SYSLOG_PFX "sshd[1]: Connection closed by invalid user x 1.1.1.1 port 1 198.51.100.2 port 22 [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "x"), F("src_ip", "198.51.100.2"), F("src_port", "22") } },
	{ .name = "sshd max auth attempts: user, address and port",
	  .line = SYSLOG_PFX "sshd[2800]: error: maximum authentication attempts exceeded for root from 1.2.3.4 port 22 ssh2 [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "root"), F("src_ip", "1.2.3.4"), F("src_port", "22") } },
	{ .name = "sshd max auth attempts for an invalid user",
	  .line = SYSLOG_PFX "sshd[2801]: error: maximum authentication attempts exceeded for invalid user x from 1.2.3.4 port 22 ssh2 [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "x"), F("src_ip", "1.2.3.4"), F("src_port", "22") } },
	{ .name = "sshd max auth attempts, old format without error:",
	  .line = SYSLOG_PFX "sshd[2802]: maximum authentication attempts exceeded for invalid user x from 1.2.3.4 port 22 ssh2 [preauth]",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "x"), F("src_ip", "1.2.3.4"), F("src_port", "22") } },
	{ .name = "sshd not allowed: user and from-address",
	  .line = SYSLOG_PFX "sshd[1]: User root from 192.0.2.1 not allowed because not listed in AllowUsers",
	  .product = "linux", .service = "sshd",
	  .f = { F("user", "root"), F("src_ip", "192.0.2.1") } },
	{ .name = "sshd probe from IPv6",
	  .line = SYSLOG_PFX "sshd[1]: Did not receive identification string from 2001:db8::5 port 4444",
	  .product = "linux", .service = "sshd",
	  .f = { F("src_ip", "2001:db8::5"), F("src_port", "4444") } },
	{ .name = "sshd's own listening address is no peer",
	  .line = SYSLOG_PFX "sshd[1]: Server listening on 0.0.0.0 port 22.",
	  .product = "linux", .service = "sshd", .f = { { NULL, NULL, 0 } } },
	{ .name = "pam line of an unknown program: service pam",
	  .line = SYSLOG_PFX "vsftpd[3]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=anon rhost=192.0.2.4",
	  .product = "linux", .service = "pam",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "vsftpd"), F("pam_type", "auth"),
	      F("uid", "0"), F("euid", "0"), F("tty", "ftp"), F("ruser", "anon"),
	      F("rhost", "192.0.2.4"), F("action", "auth_failure"), F("outcome", "failure") } },
	{ .name = "pam_ lookalike without (svc:type): no fields",
	  .line = SYSLOG_PFX "sshd[1]: pam_unix: something",
	  .product = "linux", .service = "sshd", .f = { { NULL, NULL, 0 } } },

	/* ---- sudo ---- */
	{ .name = "sudo command (Debian leading spaces)",
	  .line = SYSLOG_PFX "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
	  .product = "linux", .service = "sudo", .time_ms = T_NOV25,
	  .f = { F("user", "alice"), F("tty", "pts/0"), F("pwd", "/home/alice"),
	      F("target_user", "root"), F("CommandLine", "/bin/bash"), F("Image", "/bin/bash"),
	      F("outcome", "success") } },
	{ .name = "sudo command with ' ; ' in its arguments and ENV",
	  .line = SYSLOG_PFX "sudo[5]: alice : TTY=pts/1 ; PWD=/tmp ; USER=root ; GROUP=adm ; ENV=A=b ; COMMAND=/bin/sh -c \"id ; whoami\"",
	  .product = "linux", .service = "sudo",
	  .f = { F("user", "alice"), F("tty", "pts/1"), F("pwd", "/tmp"),
	      F("target_user", "root"), F("target_group", "adm"),
	      F("CommandLine", "/bin/sh -c \"id ; whoami\""), F("Image", "/bin/sh"),
	      F("outcome", "success") } },
	{ .name = "sudo incorrect password attempts",
	  .line = SYSLOG_PFX "sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
	  .product = "linux", .service = "sudo",
	  .f = { F("user", "alice"), F("tty", "pts/0"), F("pwd", "/home/alice"),
	      F("target_user", "root"), F("CommandLine", "/usr/bin/cat /etc/shadow"),
	      F("Image", "/usr/bin/cat"), F("reason", "3 incorrect password attempts"),
	      F("outcome", "failure") } },
	{ .name = "sudo user NOT in sudoers",
	  .line = SYSLOG_PFX "sudo:      bob : user NOT in sudoers ; TTY=pts/2 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
	  .product = "linux", .service = "sudo",
	  .f = { F("user", "bob"), F("tty", "pts/2"), F("pwd", "/home/bob"),
	      F("target_user", "root"), F("CommandLine", "/usr/bin/id"), F("Image", "/usr/bin/id"),
	      F("reason", "user NOT in sudoers"), F("outcome", "failure") } },
	{ .name = "sudo pam session",
	  .line = SYSLOG_PFX "sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
	  .product = "linux", .service = "sudo",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "sudo"), F("pam_type", "session"),
	      F("user", "root"), F("uid", "0"), F("by_user", "alice"),
	      F("action", "session_opened"), F("outcome", "success") } },
	{ .name = "sudo other message: logsource only",
	  .line = SYSLOG_PFX "sudo: unable to resolve host web1: Name or service not known",
	  .product = "linux", .service = "sudo", .f = { { NULL, NULL, 0 } } },

	/* ---- su ---- */
	{ .name = "su success",
	  .line = SYSLOG_PFX "su[99]: (to root) alice on pts/0",
	  .product = "linux", .service = "su",
	  .f = { F("target_user", "root"), F("user", "alice"), F("tty", "pts/0"),
	      F("outcome", "success") } },
	{ .name = "su failed",
	  .line = SYSLOG_PFX "su[99]: FAILED SU (to root) alice on pts/0",
	  .product = "linux", .service = "su",
	  .f = { F("target_user", "root"), F("user", "alice"), F("tty", "pts/0"),
	      F("outcome", "failure") } },
	{ .name = "su pam auth failure",
	  .line = SYSLOG_PFX "su[99]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
	  .product = "linux", .service = "su",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "su"), F("pam_type", "auth"),
	      F("logname", "alice"), F("uid", "1000"), F("euid", "0"), F("tty", "/dev/pts/0"),
	      F("ruser", "alice"), F("user", "root"), F("action", "auth_failure"),
	      F("outcome", "failure") } },
	{ .name = "su shadow-utils style",
	  .line = SYSLOG_PFX "su[99]: - pts/3 alice:root",
	  .product = "linux", .service = "su",
	  .f = { F("tty", "pts/3"), F("user", "alice"), F("target_user", "root"),
	      F("outcome", "failure") } },

	/* ---- user management ---- */
	{ .name = "useradd new user",
	  .line = SYSLOG_PFX "useradd[5]: new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0",
	  .product = "linux", .service = "useradd",
	  .f = { F("user", "bob"), F("uid", "1001"), F("gid", "1001"), F("home", "/home/bob"),
	      F("shell", "/bin/bash"), F("tty", "/dev/pts/0"), F("action", "user_added") } },
	{ .name = "useradd new group",
	  .line = SYSLOG_PFX "useradd[5]: new group: name=bob, GID=1001",
	  .product = "linux", .service = "useradd",
	  .f = { F("group", "bob"), F("gid", "1001"), F("action", "group_added") } },
	{ .name = "usermod add to shadow group",
	  .line = SYSLOG_PFX "usermod[5]: add 'bob' to shadow group 'sudo'",
	  .product = "linux", .service = "usermod",
	  .f = { F("user", "bob"), F("group", "sudo"), F("action", "user_added_to_group") } },
	{ .name = "usermod add to group",
	  .line = SYSLOG_PFX "usermod[5]: add 'bob' to group 'sudo'",
	  .product = "linux", .service = "usermod",
	  .f = { F("user", "bob"), F("group", "sudo"), F("action", "user_added_to_group") } },
	{ .name = "usermod uid to 0",
	  .line = SYSLOG_PFX "usermod[5]: change user 'bob' UID from '1001' to '0'",
	  .product = "linux", .service = "usermod",
	  .f = { F("user", "bob"), F("old_value", "1001"), F("uid", "0"),
	      F("action", "user_modified") } },
	{ .name = "usermod other attribute",
	  .line = SYSLOG_PFX "usermod[5]: change user 'bob' expiration from 'never' to '2026-01-01'",
	  .product = "linux", .service = "usermod",
	  .f = { F("user", "bob"), F("attribute", "expiration"), F("old_value", "never"),
	      F("new_value", "2026-01-01"), F("action", "user_modified") } },
	{ .name = "usermod lock",
	  .line = SYSLOG_PFX "usermod[5]: lock user 'bob' password",
	  .product = "linux", .service = "usermod",
	  .f = { F("user", "bob"), F("action", "user_locked") } },
	{ .name = "userdel delete user",
	  .line = SYSLOG_PFX "userdel[5]: delete user 'bob'",
	  .product = "linux", .service = "userdel",
	  .f = { F("user", "bob"), F("action", "user_deleted") } },
	{ .name = "userdel removed group",
	  .line = SYSLOG_PFX "userdel[5]: removed group 'bob' owned by 'bob'",
	  .product = "linux", .service = "userdel",
	  .f = { F("group", "bob"), F("user", "bob"), F("action", "group_deleted") } },
	{ .name = "groupadd to /etc/group",
	  .line = SYSLOG_PFX "groupadd[5]: group added to /etc/group: name=devs, GID=1002",
	  .product = "linux", .service = "groupadd",
	  .f = { F("group", "devs"), F("gid", "1002"), F("action", "group_added") } },
	{ .name = "groupdel removed",
	  .line = SYSLOG_PFX "groupdel[5]: group 'devs' removed",
	  .product = "linux", .service = "groupdel",
	  .f = { F("group", "devs"), F("action", "group_deleted") } },
	{ .name = "groupdel removed from file",
	  .line = SYSLOG_PFX "groupdel[5]: group 'devs' removed from /etc/gshadow",
	  .product = "linux", .service = "groupdel",
	  .f = { F("group", "devs"), F("action", "group_deleted") } },
	{ .name = "gpasswd add",
	  .line = SYSLOG_PFX "gpasswd[5]: user bob added by root to group sudo",
	  .product = "linux", .service = "gpasswd",
	  .f = { F("user", "bob"), F("by_user", "root"), F("group", "sudo"),
	      F("action", "user_added_to_group") } },
	{ .name = "gpasswd members set",
	  .line = SYSLOG_PFX "gpasswd[5]: members of group sudo set by root to alice,bob",
	  .product = "linux", .service = "gpasswd",
	  .f = { F("group", "sudo"), F("by_user", "root"), F("members", "alice,bob"),
	      F("action", "group_members_set") } },
	{ .name = "passwd changed by",
	  .line = SYSLOG_PFX "passwd[5]: password for 'bob' changed by 'root'",
	  .product = "linux", .service = "passwd",
	  .f = { F("user", "bob"), F("by_user", "root"), F("action", "password_changed"),
	      F("outcome", "success") } },
	{ .name = "chpasswd pam chauthtok",
	  .line = SYSLOG_PFX "chpasswd[5]: pam_unix(chpasswd:chauthtok): password changed for bob",
	  .product = "linux", .service = "chpasswd",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "chpasswd"),
	      F("pam_type", "chauthtok"), F("user", "bob"), F("action", "password_changed"),
	      F("outcome", "success") } },

	/* ---- cron ---- */
	{ .name = "cron CMD with parentheses in the command",
	  .line = SYSLOG_PFX "CRON[7]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly (x))",
	  .product = "linux", .service = "cron",
	  .f = { F("user", "root"), F("action", "CMD"),
	      F("CommandLine", "   cd / && run-parts --report /etc/cron.hourly (x)") } },
	{ .name = "cron pam session",
	  .line = SYSLOG_PFX "CRON[7]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
	  .product = "linux", .service = "cron",
	  .f = { F("pam_module", "pam_unix"), F("pam_service", "cron"), F("pam_type", "session"),
	      F("user", "root"), F("uid", "0"), F("action", "session_opened"),
	      F("outcome", "success") } },
	{ .name = "crontab replace",
	  .line = SYSLOG_PFX "crontab[8]: (bob) REPLACE (bob)",
	  .product = "linux", .service = "cron",
	  .f = { F("user", "bob"), F("action", "REPLACE") } },
	{ .name = "cron daemon about itself",
	  .line = SYSLOG_PFX "cron[7]: (CRON) INFO (pidfile fd = 3)",
	  .product = "linux", .service = "cron", .f = { F("action", "INFO") } },

	/* ---- systemd-logind ---- */
	{ .name = "logind new session",
	  .line = SYSLOG_PFX "systemd-logind[8]: New session 3 of user bob.",
	  .product = "linux", .service = "systemd-logind",
	  .f = { F("session_id", "3"), F("user", "bob"), F("action", "session_new") } },
	{ .name = "logind removed session",
	  .line = SYSLOG_PFX "systemd-logind[8]: Removed session c12.",
	  .product = "linux", .service = "systemd-logind",
	  .f = { F("session_id", "c12"), F("action", "session_removed") } },

	/* ---- kernel firewall ---- */
	{ .name = "ufw block tcp syn with printk time",
	  .line = SYSLOG_PFX "kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.5 DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=5555 DF PROTO=TCP SPT=4444 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0",
	  .product = "linux", .category = "firewall", .time_ms = T_NOV25,
	  .f = { F("log_prefix", "[UFW BLOCK]"), F("action", "block"), F("in_interface", "eth0"),
	      F("src_ip", "203.0.113.5"), F("dst_ip", "10.0.0.5"), F("packet_length", "60"),
	      F("protocol", "tcp"), F("src_port", "4444"), F("dst_port", "22"),
	      F("tcp_flags", "SYN") } },
	{ .name = "iptables forward, several flags, no printk time",
	  .line = SYSLOG_PFX "kernel: FW-ACCEPT: IN=eth1 OUT=eth0 SRC=10.0.0.9 DST=198.51.100.3 LEN=52 TTL=63 PROTO=TCP SPT=50000 DPT=443 WINDOW=501 RES=0x00 ACK PSH URGP=0",
	  .product = "linux", .category = "firewall",
	  .f = { F("log_prefix", "FW-ACCEPT:"), F("action", "allow"), F("in_interface", "eth1"),
	      F("out_interface", "eth0"), F("src_ip", "10.0.0.9"), F("dst_ip", "198.51.100.3"),
	      F("packet_length", "52"), F("protocol", "tcp"), F("src_port", "50000"),
	      F("dst_port", "443"), F("tcp_flags", "ACK PSH") } },
	{ .name = "icmp error quoting a udp packet",
	  .line = SYSLOG_PFX "kernel: IN=eth0 OUT= MAC= SRC=203.0.113.5 DST=10.0.0.5 LEN=84 TTL=64 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.5 DST=203.0.113.5 LEN=56 PROTO=UDP SPT=53 DPT=1111 LEN=36 ]",
	  .product = "linux", .category = "firewall",
	  .f = { F("in_interface", "eth0"), F("src_ip", "203.0.113.5"), F("dst_ip", "10.0.0.5"),
	      F("packet_length", "84"), F("protocol", "icmp"), F("icmp_type", "3"),
	      F("icmp_code", "3") } },
	{ .name = "nftables ipv6 udp",
	  .line = SYSLOG_PFX "kernel: [ 99.1] nft drop: IN=ens3 OUT= MAC=aa SRC=2001:db8::5 DST=2001:db8::1 LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5353 DPT=161 LEN=32",
	  .product = "linux", .category = "firewall",
	  .f = { F("log_prefix", "nft drop:"), F("action", "block"), F("in_interface", "ens3"),
	      F("src_ip", "2001:db8::5"), F("dst_ip", "2001:db8::1"), F("packet_length", "72"),
	      F("protocol", "udp"), F("src_port", "5353"), F("dst_port", "161") } },
	{ .name = "kernel line that is no firewall log",
	  .line = SYSLOG_PFX "kernel: [ 1.0] e1000e: eth0 NIC Link is Up IN=nothing",
	  .product = "linux", .f = { { NULL, NULL, 0 } } },

	/* ---- web access logs ---- */
	{ .name = "nginx combined, encoded traversal and sqli, \\x22 in UA",
	  .line = "203.0.113.5 - - [25/Nov/2025:23:34:47 +0700] \"GET /cgi-bin/.%2e/.%2E/etc/passwd?a=%2527+or+1%3d1&b=%252e%252e%252f&c=%2B HTTP/1.1\" 400 157 \"-\" \"Mozilla/5.0 \\x22quoted\\x22\"",
	  .category = "webserver", .time_ms = T_NOV25, .app = "",
	  .f = { F("c-ip", "203.0.113.5"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/cgi-bin/.%2e/.%2E/etc/passwd?a=%2527+or+1%3d1&b=%252e%252e%252f&c=%2B"),
	      F("cs-uri-stem", "/cgi-bin/.%2e/.%2E/etc/passwd"),
	      F("cs-uri-stem-decoded", "/cgi-bin/../../etc/passwd"),
	      F("cs-uri-query", "/cgi-bin/.%2e/.%2E/etc/passwd?a=%2527+or+1%3d1&b=%252e%252e%252f&c=%2B"),
	      F("cs-uri-query-decoded", "a=' or 1=1&b=../&c=+"),
	      F("sc-status", "400"), F("sc-bytes", "157"),
	      F("cs-user-agent", "Mozilla/5.0 \"quoted\"") } },
	{ .name = "apache vhost_combined, ipv6 client, user, no bytes",
	  .line = "example.com:443 2001:db8::7 - bob [25/Nov/2025:16:34:47 +0000] \"POST /login HTTP/1.1\" 200 - \"https://example.com/\" \"curl/8.0\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("cs-host", "example.com"), F("s-port", "443"), F("c-ip", "2001:db8::7"),
	      F("cs-username", "bob"), F("cs-method", "POST"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/login"), F("cs-uri-query", "/login"),
	      F("cs-uri-stem", "/login"), F("cs-uri-stem-decoded", "/login"),
	      F("sc-status", "200"), F("cs-referer", "https://example.com/"),
	      F("cs-user-agent", "curl/8.0") } },
	{ .name = "nginx with $host in front, UTC-5",
	  .line = "shop.example.org 198.51.100.1 - - [25/Nov/2025:11:34:47 -0500] \"GET /?q=%3Cscript%3E HTTP/2.0\" 200 5 \"-\" \"ua\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("cs-host", "shop.example.org"), F("c-ip", "198.51.100.1"),
	      F("cs-method", "GET"), F("cs-version", "HTTP/2.0"), F("cs-uri", "/?q=%3Cscript%3E"),
	      F("cs-uri-stem", "/"), F("cs-uri-stem-decoded", "/"),
	      F("cs-uri-query", "/?q=%3Cscript%3E"), F("cs-uri-query-decoded", "q=<script>"),
	      F("sc-status", "200"), F("sc-bytes", "5"), F("cs-user-agent", "ua") } },
	{ .name = "apache escaped quote in request and UA",
	  .line = "192.0.2.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /a\\\"b HTTP/1.1\" 404 9 \"-\" \"x\\\"y\\\\z\"",
	  .category = "webserver",
	  .f = { F("c-ip", "192.0.2.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/a\"b"), F("cs-uri-query", "/a\"b"),
	      F("cs-uri-stem", "/a\"b"), F("cs-uri-stem-decoded", "/a\"b"),
	      F("sc-status", "404"), F("sc-bytes", "9"), F("cs-user-agent", "x\"y\\z") } },
	{ .name = "apache UA with backslash runs before quotes",
	  .line = "192.0.2.1 - - [25/Nov/2025:16:34:47 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\\\\\\\"y\\\\\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "192.0.2.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/"), F("cs-uri-query", "/"),
	      F("cs-uri-stem", "/"), F("cs-uri-stem-decoded", "/"),
	      F("sc-status", "200"), F("sc-bytes", "1"), F("cs-user-agent", "x\\\"y\\") } },
	{ .name = "apache common, no referer/UA",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET / HTTP/1.0\" 200 1234",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.0"),
	      F("cs-uri", "/"), F("cs-uri-query", "/"),
	      F("cs-uri-stem", "/"), F("cs-uri-stem-decoded", "/"),
	      F("sc-status", "200"), F("sc-bytes", "1234") } },
	{ .name = "malformed request: TLS hello on port 80",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"\\x16\\x03\\x01\\x00\\xA5\\x01\" 400 150 \"-\" \"-\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "198.51.100.1"), F("sc-status", "400"), F("sc-bytes", "150") } },
	{ .name = "malformed request: \"-\"",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"-\" 408 0 \"-\" \"-\"",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("sc-status", "408"), F("sc-bytes", "0") } },
	{ .name = "request without version (HTTP/0.9 or truncated), space in URI",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /a b\" 400 0 \"-\" \"-\"",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-uri", "/a b"),
	      F("cs-uri-query", "/a b"),
	      F("cs-uri-stem", "/a b"), F("cs-uri-stem-decoded", "/a b"),
	      F("sc-status", "400"), F("sc-bytes", "0") } },
	{ .name = "raw quote in an unescaped request: end found by the status",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /x\"y HTTP/1.1\" 200 1 \"-\" \"-\"",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/x\"y"), F("cs-uri-query", "/x\"y"),
	      F("cs-uri-stem", "/x\"y"), F("cs-uri-stem-decoded", "/x\"y"),
	      F("sc-status", "200"), F("sc-bytes", "1") } },
	{ .name = "triple encoding, mixed-case hex, fully decoded",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /%25252E%25252e%25252F HTTP/1.1\" 200 1",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/%25252E%25252e%25252F"), F("cs-uri-query", "/%25252E%25252e%25252F"),
	      F("cs-uri-stem", "/%25252E%25252e%25252F"),
	      F("cs-uri-stem-decoded", "/../"), F("sc-status", "200"), F("sc-bytes", "1") } },
	{ .name = "quadruple encoding stops after 3 rounds",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /%2525252e HTTP/1.1\" 200 1",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/%2525252e"), F("cs-uri-query", "/%2525252e"),
	      F("cs-uri-stem", "/%2525252e"),
	      F("cs-uri-stem-decoded", "/%2e"), F("sc-status", "200"), F("sc-bytes", "1") } },
	{ .name = "percent-NUL and bad hex",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /a%00b%zz%4 HTTP/1.1\" 200 1",
	  .category = "webserver",
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/a%00b%zz%4"), F("cs-uri-query", "/a%00b%zz%4"),
	      F("cs-uri-stem", "/a%00b%zz%4"),
	      { "cs-uri-stem-decoded", "/a\0b%zz%4", 9 }, F("sc-status", "200"),
	      F("sc-bytes", "1") } },
	{ .name = "nginx access log through syslog",
	  .line = SYSLOG_PFX "nginx: 198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /x?q=1 HTTP/1.1\" 404 10 \"-\" \"ua\"",
	  .product = "linux", .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "198.51.100.1"), F("cs-method", "GET"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/x?q=1"), F("cs-uri-stem", "/x"), F("cs-uri-stem-decoded", "/x"),
	      F("cs-uri-query", "/x?q=1"), F("cs-uri-query-decoded", "q=1"),
	      F("sc-status", "404"), F("sc-bytes", "10"), F("cs-user-agent", "ua") } },
	{ .name = "nginx basic-auth user with ' [' in it: the date is still found",
	  /* nginx logs $remote_user from any Authorization: Basic header, with
	     spaces and brackets as sent: a user "a [b" must not hide the line */
	  .line = "203.0.113.5 - a [b [25/Nov/2025:16:34:47 +0000] \"GET /item?id=1%20UNION%20SELECT%201 HTTP/1.1\" 200 5 \"-\" \"sqlmap/1.7\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "203.0.113.5"), F("cs-username", "a [b"), F("cs-method", "GET"),
	      F("cs-version", "HTTP/1.1"), F("cs-uri", "/item?id=1%20UNION%20SELECT%201"),
	      F("cs-uri-stem", "/item"), F("cs-uri-stem-decoded", "/item"),
	      F("cs-uri-query", "/item?id=1%20UNION%20SELECT%201"),
	      F("cs-uri-query-decoded", "id=1 UNION SELECT 1"),
	      F("sc-status", "200"), F("sc-bytes", "5"), F("cs-user-agent", "sqlmap/1.7") } },
	{ .name = "a date in the user: the date followed by the request counts",
	  .line = "203.0.113.5 - [25/Nov/2025:16:34:47 +0000] [25/Nov/2025:16:34:47 +0000] \"GET / HTTP/1.1\" 200 5",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "203.0.113.5"), F("cs-username", "[25/Nov/2025:16:34:47 +0000]"),
	      F("cs-method", "GET"), F("cs-version", "HTTP/1.1"), F("cs-uri", "/"),
	      F("cs-uri-query", "/"),
	      F("cs-uri-stem", "/"), F("cs-uri-stem-decoded", "/"),
	      F("sc-status", "200"), F("sc-bytes", "5") } },
	{ .name = "path-only request: cs-uri-query holds the path, as public rules read it",
	  /* SigmaHQ webserver rules look for paths in cs-uri-query
	     (endswith '/mgmt/tm/util/bash', contains '/cgi-bin/.%2e/') */
	  .line = "203.0.113.5 - - [25/Nov/2025:16:34:47 +0000] \"POST /mgmt/tm/util/bash HTTP/1.1\" 200 5 \"-\" \"curl/8.0\"",
	  .category = "webserver", .time_ms = T_NOV25,
	  .f = { F("c-ip", "203.0.113.5"), F("cs-method", "POST"), F("cs-version", "HTTP/1.1"),
	      F("cs-uri", "/mgmt/tm/util/bash"), F("cs-uri-stem", "/mgmt/tm/util/bash"),
	      F("cs-uri-stem-decoded", "/mgmt/tm/util/bash"),
	      F("cs-uri-query", "/mgmt/tm/util/bash"),
	      F("sc-status", "200"), F("sc-bytes", "5"), F("cs-user-agent", "curl/8.0") } },
	{ .name = "not web: impossible date",
	  .line = "198.51.100.1 - - [31/Nov/2025:16:34:47 +0000] \"GET / HTTP/1.1\" 200 1",
	  .f = { { NULL, NULL, 0 } } },
	{ .name = "not web: no status after the request",
	  .line = "198.51.100.1 - - [25/Nov/2025:16:34:47 +0000] \"GET / HTTP/1.1\" xyz",
	  .f = { { NULL, NULL, 0 } } },

	/* ---- journald JSON ---- */
	{ .name = "json sshd failure",
	  .line = "{\"__REALTIME_TIMESTAMP\":\"1764088487123456\",\"_HOSTNAME\":\"h\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"_PID\":\"123\",\"MESSAGE\":\"Failed password for root from 203.0.113.5 port 52144 ssh2\",\"PRIORITY\":\"6\",\"SYSLOG_FACILITY\":\"4\",\"_COMM\":\"sshd\"}",
	  .product = "linux", .service = "sshd", .time_ms = T_NOV25 + 123, .app = "sshd",
	  .msg = "Failed password for root from 203.0.113.5 port 52144 ssh2",
	  .f = { F("user", "root"), F("src_ip", "203.0.113.5"), F("src_port", "52144"),
	      F("auth_method", "password"), F("outcome", "failure") } },
	{ .name = "json sudo with escapes, surrogate pair, nested value skipped",
	  .line = "{\"MESSAGE\":\"alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c \\\"echo \\u00e9\\ud83d\\ude00\\/\\\"\",\"SYSLOG_IDENTIFIER\":\"sudo\",\"X\":[1,{\"a\":[2,\"]\"]}]}",
	  .product = "linux", .service = "sudo", .app = "sudo",
	  .msg = "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c \"echo \xc3\xa9\xf0\x9f\x98\x80/\"",
	  .f = { F("user", "alice"), F("tty", "pts/0"), F("pwd", "/"), F("target_user", "root"),
	      F("CommandLine", "/bin/sh -c \"echo \xc3\xa9\xf0\x9f\x98\x80/\""),
	      F("Image", "/bin/sh"), F("outcome", "success") } },
	{ .name = "json _COMM when no SYSLOG_IDENTIFIER, source timestamp wins",
	  .line = "{ \"_COMM\" : \"useradd\", \"_SOURCE_REALTIME_TIMESTAMP\" : 1764088487000000 , \"__REALTIME_TIMESTAMP\":\"1\", \"MESSAGE\" : \"delete user 'bob'\" }",
	  .product = "linux", .service = "useradd", .time_ms = T_NOV25, .app = "useradd",
	  .f = { F("user", "bob"), F("action", "user_deleted") } },
	{ .name = "json kernel firewall (no printk time)",
	  .line = "{\"SYSLOG_IDENTIFIER\":\"kernel\",\"_TRANSPORT\":\"kernel\",\"MESSAGE\":\"[UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 DST=10.0.0.5 LEN=40 PROTO=TCP SPT=1 DPT=23 SYN URGP=0\"}",
	  .product = "linux", .category = "firewall",
	  .f = { F("log_prefix", "[UFW BLOCK]"), F("action", "block"), F("in_interface", "eth0"),
	      F("src_ip", "203.0.113.5"), F("dst_ip", "10.0.0.5"), F("packet_length", "40"),
	      F("protocol", "tcp"), F("src_port", "1"), F("dst_port", "23"),
	      F("tcp_flags", "SYN") } },
	{ .name = "json MESSAGE as a byte array, lone surrogate",
	  .line = "{\"MESSAGE\":[72,105,255],\"_COMM\":\"x\\ud800y\"}",
	  .product = "linux", .app = "x\xef\xbf\xbdy", .msg = "Hi\xff",
	  .f = { { NULL, NULL, 0 } } },
	{ .name = "json null identifier: _COMM instead, not the text null",
	  .line = "{\"SYSLOG_IDENTIFIER\":null,\"_COMM\":\"useradd\",\"MESSAGE\":\"delete user 'bob'\"}",
	  .product = "linux", .service = "useradd", .app = "useradd",
	  .f = { F("user", "bob"), F("action", "user_deleted") } },
	{ .name = "not json: MESSAGE null",
	  .line = "{\"MESSAGE\":null}", .msg = "{\"MESSAGE\":null}",
	  .f = { { NULL, NULL, 0 } } },
	{ .name = "not json: bad escape",
	  .line = "{\"MESSAGE\":\"a\\qb\"}", .f = { { NULL, NULL, 0 } } },
	{ .name = "not json: trailing garbage",
	  .line = "{\"MESSAGE\":\"a\"} x", .f = { { NULL, NULL, 0 } } },
	{ .name = "not json: unterminated",
	  .line = "{\"MESSAGE\":\"a", .f = { { NULL, NULL, 0 } } },

	/* ---- nothing known ---- */
	{ .name = "plain syslog program: product only",
	  .line = SYSLOG_PFX "systemd[1]: Started Daily apt upgrade.",
	  .product = "linux", .f = { { NULL, NULL, 0 } } },
	{ .name = "plain text", .line = "hello world", .f = { { NULL, NULL, 0 } } },
};

/* ---- helpers ---------------------------------------------------------- */

static bool
in_range(struct ms_str s, const char *lo, size_t len)
{
	uintptr_t b = (uintptr_t)lo, p = (uintptr_t)s.p;

	return s.p != NULL && p >= b && s.len <= len && p - b <= len - s.len;
}

/* Every slice lies in the line or in the used part of the scratch area. */
static void
check_slices(const char *name, const struct decoded *d, const char *buf, size_t len)
{
	const struct ms_str hdr[] = { d->host, d->app, d->pid, d->msgid, d->msg, d->user,
	    d->method, d->src_ip };

	if (d->nfields > DECODE_MAX_FIELDS || d->scratch_used > DECODE_SCRATCH)
		fail_msg("%s: counters out of range", name);
	for (size_t k = 0; k < MS_ARRAY_LEN(hdr); k++)
		if (!in_range(hdr[k], buf, len) && !in_range(hdr[k], d->scratch, d->scratch_used))
			fail_msg("%s: header slice %zu outside line and scratch", name, k);
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct decode_field *f = &d->fields[i];
		if (f->name == NULL || f->name[0] == '\0')
			fail_msg("%s: field %u without a name", name, i);
		/* static values ("success", "tcp"...) are neither: only names are static */
		if (f->value.p == NULL)
			fail_msg("%s: field %s has a NULL value", name, f->name);
	}
}

static const char *
opt(const char *s)
{
	return s != NULL ? s : "(null)";
}

static void
check_logsource(const char *name, const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
		fail_msg("%s: %s = %s, want %s", name, what, opt(got), opt(want));
}

static void
dump_fields(const struct decoded *d)
{
	for (unsigned i = 0; i < d->nfields; i++)
		print_message("  got %s=\"%.*s\"\n", d->fields[i].name,
		    (int)d->fields[i].value.len, d->fields[i].value.p);
}

/* ---- the table ---------------------------------------------------------- */

static void
test_field_case(void **state)
{
	const struct field_case *c = *state;
	size_t len = strlen(c->line), nexp = 0;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25, .tz_offset_s = 0 };
	struct decoded *d = malloc(sizeof(*d));
	char *buf = dup_exact(c->line, len);

	assert_non_null(d);
	decode_line(buf, len, &ctx, d);
	check_slices(c->name, d, buf, len);
	check_logsource(c->name, "product", d->product, c->product);
	check_logsource(c->name, "service", d->service, c->service);
	check_logsource(c->name, "category", d->category, c->category);
	if (c->time_ms != 0 && (!d->time_from_line || d->time_ms != c->time_ms))
		fail_msg("%s: time %lld (from line %d), want %lld", c->name,
		    (long long)d->time_ms, d->time_from_line, (long long)c->time_ms);
	if (c->app != NULL && !ms_str_eq(d->app, c->app))
		fail_msg("%s: app \"%.*s\", want \"%s\"", c->name, (int)d->app.len, d->app.p, c->app);
	if (c->msg != NULL && !ms_str_eq(d->msg, c->msg))
		fail_msg("%s: msg \"%.*s\", want \"%s\"", c->name, (int)d->msg.len, d->msg.p, c->msg);

	for (; nexp < MAX_EXP && c->f[nexp].name != NULL; nexp++) {
		const struct field_exp *e = &c->f[nexp];
		size_t vlen = e->len != 0 ? e->len : strlen(e->value);
		const struct ms_str *got = decode_field_get(d, e->name);
		if (got == NULL) {
			dump_fields(d);
			fail_msg("%s: field %s missing", c->name, e->name);
		}
		if (got->len != vlen || memcmp(got->p, e->value, vlen) != 0) {
			dump_fields(d);
			fail_msg("%s: %s = \"%.*s\", want \"%s\"", c->name, e->name,
			    (int)got->len, got->p, e->value);
		}
	}
	if (d->nfields != nexp) {
		dump_fields(d);
		fail_msg("%s: %u fields, want %zu", c->name, d->nfields, nexp);
	}
	free(buf);
	free(d);
}

/* ---- single tests ------------------------------------------------------- */

/* A reused event keeps nothing of the previous line. */
static void
test_reuse_resets(void **state)
{
	static const char a[] = SYSLOG_PFX "sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id";
	static const char b[] = "{\"MESSAGE\":\"x\\ty\"}";
	static const char c[] = "hello";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	decode_line(a, sizeof(a) - 1, &ctx, d);
	assert_string_equal(d->service, "sudo");
	assert_true(d->nfields > 0);
	decode_line(b, sizeof(b) - 1, &ctx, d);
	assert_null(d->service);
	assert_int_equal(d->nfields, 0);
	assert_int_equal(d->scratch_used, 3);
	decode_line(c, sizeof(c) - 1, &ctx, d);
	assert_null(d->product);
	assert_int_equal(d->scratch_used, 0);
	assert_int_equal(d->time_ms, RECV_NOV25);
	free(d);
}

/* Sigma field names are matched case-insensitively when not exact. */
static void
test_field_get_case(void **state)
{
	static const char line[] = SYSLOG_PFX "sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	const struct ms_str *v;

	(void)state;
	assert_non_null(d);
	decode_line(line, sizeof(line) - 1, &ctx, d);
	assert_non_null(v = decode_field_get(d, "User"));
	assert_true(ms_str_eq(*v, "alice"));
	assert_non_null(v = decode_field_get(d, "commandline"));
	assert_true(ms_str_eq(*v, "/bin/id"));
	assert_null(decode_field_get(d, "nope"));
	free(d);
}

/* A URI longer than the scratch area: raw fields kept, decoded dropped. */
static void
test_web_scratch_exhausted(void **state)
{
	static const char head[] = "192.0.2.1 - - [25/Nov/2025:16:34:47 +0000] \"GET /?q=";
	static const char tail[] = " HTTP/1.1\" 200 1 \"-\" \"a\\x22b\"";
	size_t qlen = DECODE_SCRATCH + 100, h = sizeof(head) - 1, t = sizeof(tail) - 1;
	size_t len = h + qlen + t;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	char *buf = malloc(len);
	const struct ms_str *v;

	(void)state;
	assert_non_null(d);
	assert_non_null(buf);
	memcpy(buf, head, h);
	for (size_t k = 0; k < qlen; k++)
		buf[h + k] = "%41"[k % 3];
	memcpy(buf + h + qlen, tail, t);
	decode_line(buf, len, &ctx, d);
	check_slices("scratch exhausted", d, buf, len);
	assert_string_equal(d->category, "webserver");
	assert_non_null(v = decode_field_get(d, "cs-uri-query"));
	assert_int_equal(v->len, qlen + 4);	/* "/?q=" */
	assert_null(decode_field_get(d, "cs-uri-query-decoded"));
	assert_non_null(v = decode_field_get(d, "cs-user-agent"));
	assert_true(ms_str_eq(*v, "a\"b"));
	free(buf);
	free(d);
}

/* A journald MESSAGE bigger than scratch stays readable: escaped, from the line. */
static void
test_json_scratch_exhausted(void **state)
{
	static const char head[] = "{\"SYSLOG_IDENTIFIER\":\"app\",\"MESSAGE\":\"";
	static const char tail[] = "\"}";
	size_t mlen = DECODE_SCRATCH + 10, h = sizeof(head) - 1, t = sizeof(tail) - 1;
	size_t len = h + mlen + t;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	char *buf = malloc(len);

	(void)state;
	assert_non_null(d);
	assert_non_null(buf);
	memcpy(buf, head, h);
	for (size_t k = 0; k < mlen; k++)
		buf[h + k] = (k % 2 == 0) ? '\\' : 'n';
	memcpy(buf + h + mlen, tail, t);
	decode_line(buf, len, &ctx, d);
	check_slices("json exhausted", d, buf, len);
	assert_true(ms_str_eq(d->app, "app"));
	assert_ptr_equal(d->msg.p, buf + h);
	assert_int_equal(d->msg.len, mlen);
	free(buf);
	free(d);
}

/* JSON nesting: 32 levels are skipped, 33 make the line not JSON. */
static void
test_json_depth(void **state)
{
	char line[256];
	size_t n;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	for (int depth = 32; depth <= 33; depth++) {
		n = 0;
		memcpy(line + n, "{\"MESSAGE\":\"m\",\"X\":", 19);
		n += 19;
		for (int k = 0; k < depth; k++)
			line[n++] = '[';
		for (int k = 0; k < depth; k++)
			line[n++] = ']';
		line[n++] = '}';
		decode_line(line, n, &ctx, d);
		if (depth == 32) {
			assert_true(ms_str_eq(d->msg, "m"));
			assert_string_equal(d->product, "linux");
		} else {
			assert_ptr_equal(d->msg.p, line);
			assert_null(d->product);
		}
	}
	free(d);
}

/* Far more fields than the table holds: the extra ones are dropped, no overflow. */
static void
test_field_table_full(void **state)
{
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	decode_reset(d);
	for (int k = 0; k < DECODE_MAX_FIELDS; k++)
		assert_int_equal(decode_field_add(d, "x", "v", 1), 0);
	assert_int_equal(decode_field_add(d, "y", "v", 1), -1);
	assert_int_equal(d->nfields, DECODE_MAX_FIELDS);
	assert_null(decode_scratch(d, DECODE_SCRATCH + 1));
	assert_non_null(decode_scratch(d, DECODE_SCRATCH));
	assert_null(decode_scratch(d, 1));
	free(d);
}

/*
 * decode_field_get against the plain definition (first exact match, else
 * the first ASCII case-insensitive one) over random tables of short names
 * in mixed case: its shortcut for names no field can have must never hide
 * one that is there.
 */
static const struct ms_str *
ref_field_get(const struct decoded *d, const char *name)
{
	for (unsigned i = 0; i < d->nfields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	for (unsigned i = 0; i < d->nfields; i++)
		if (strcasecmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	return NULL;
}

static void
rand_name(char *out, uint32_t *seed)
{
	static const char alpha[] = "aAbBsScCuUiI-_.0";
	size_t len;

	*seed = *seed * 1103515245u + 12345u;
	len = 1 + (*seed >> 16) % 4;
	for (size_t k = 0; k < len; k++) {
		*seed = *seed * 1103515245u + 12345u;
		out[k] = alpha[(*seed >> 16) % (sizeof(alpha) - 1)];
	}
	out[len] = '\0';
}

static void
test_field_get_names(void **state)
{
	static char names[64][8];
	struct decoded *d = malloc(sizeof(*d));
	uint32_t seed = 7;
	size_t found = 0, absent = 0;

	(void)state;
	assert_non_null(d);
	for (int round = 0; round < 2000; round++) {
		unsigned nf;

		decode_reset(d);
		seed = seed * 1103515245u + 12345u;
		nf = (seed >> 16) % 40;
		for (unsigned i = 0; i < nf; i++) {
			rand_name(names[i], &seed);
			assert_int_equal(decode_field_add(d, names[i], names[i], i), 0);
		}
		for (int q = 0; q < 50; q++) {
			char name[8];
			const struct ms_str *got, *want;

			rand_name(name, &seed);
			got = decode_field_get(d, name);
			want = ref_field_get(d, name);
			if (got != want)
				fail_msg("%s among %u names: %p, want %p", name, nf, (const void *)got,
				    (const void *)want);
			if (want != NULL)
				found++;
			else
				absent++;
		}
	}
	/* both answers were asked for often (the table is not degenerate) */
	assert_true(found > 10000 && absent > 10000);
	free(d);
}

/*
 * Zeek lines: the service is a Zeek log name in any case, else "other" –
 * one static string whatever came before _path in the line (rule routes
 * are keyed by pointer) and whatever lines came before.
 */
static void
test_zeek_other_paths(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	const char *other = NULL;
	char line[512];

	(void)state;
	assert_non_null(d);
	/* names no Zeek log has, after a member that takes more or less scratch */
	for (int k = 0; k < 300; k++) {
		int n = snprintf(line, sizeof(line),
		    "{\"k%.*s\":\"v\\u0041%.*s\",\"_path\":\"odd%d\",\"ts\":1764088490.5}",
		    k % 7, "xxxxxxx", k % 11, "yyyyyyyyyyy", k);
		decode_line(line, (size_t)n, &ctx, d);
		assert_string_equal(d->product, "zeek");
		assert_non_null(d->service);
		assert_string_equal(d->service, "other");
		if (other == NULL)
			other = d->service;
		else if (other != d->service)
			fail_msg("odd%d: another pointer for service other", k);
		{
			/* the name itself stays a field */
			const struct ms_str *v = decode_field_get(d, "_path");
			char want[16];

			snprintf(want, sizeof(want), "odd%d", k);
			assert_non_null(v);
			assert_true(ms_str_eq(*v, want));
		}
	}
	/* a Zeek name in another case is that log; the same pointer as in lower case */
	decode_line("{\"_path\":\"CONN\",\"ts\":1}", 23, &ctx, d);
	assert_string_equal(d->service, "conn");
	other = d->service;
	decode_line("{\"_path\":\"conn\",\"ts\":1}", 23, &ctx, d);
	assert_ptr_equal(d->service, other);
	free(d);
}

/* A Zeek member that is null is absent (Sigma's null: absent or empty), not the text "null". */
static void
test_zeek_null_member(void **state)
{
	static const char line[] = "{\"_path\":\"conn\",\"ts\":1,\"f\":null,\"g\":\"x\",\"h\":nullx}";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	const struct ms_str *v;

	(void)state;
	assert_non_null(d);
	decode_line(line, sizeof(line) - 1, &ctx, d);
	assert_string_equal(d->service, "conn");
	assert_null(decode_field_get(d, "f"));
	assert_non_null(v = decode_field_get(d, "g"));
	assert_true(ms_str_eq(*v, "x"));
	/* only the token null itself */
	assert_non_null(v = decode_field_get(d, "h"));
	assert_true(ms_str_eq(*v, "nullx"));
	free(d);
}

/*
 * A Zeek member whose name is not UTF-8 (a JSON line with _path in a
 * followed file, written by a program from what it was sent) is left out,
 * as one with an escaped name is: the alert writes
 * names as valid UTF-8, so "a\xff" and "a\xfe" both became "a\ufffd" in
 * its "fields" – a duplicate key, and minisocctl (libyaml) could not read
 * the alert at all (listed as id=-, missing from the report's counts).
 * Found by fuzz_alert.
 */
static void
test_zeek_name_not_utf8(void **state)
{
	static const char line[] = "{\"_path\":\"conn\",\"ts\":1,\"a\xff\":\"1\",\"a\xfe\":\"2\","
	    "\"b\xc3\xa9\":\"3\",\"c\xc3\":\"4\",\"d\":\"5\"}";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded *d = malloc(sizeof(*d));
	struct alert a;
	struct ms_buf b;
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[256];

	(void)state;
	assert_non_null(d);
	decode_line(line, sizeof(line) - 1, &ctx, d);
	assert_string_equal(d->service, "conn");
	assert_null(decode_field_get(d, "a\xff"));
	assert_null(decode_field_get(d, "a\xfe"));
	assert_null(decode_field_get(d, "c\xc3"));
	assert_non_null(decode_field_get(d, "b\xc3\xa9"));
	assert_non_null(decode_field_get(d, "d"));
	/* The alert of a rule matching it, as minisocctl reads it. */
	memset(&a, 0, sizeof(a));
	a.rule_id = "r";
	a.rule_title = "t";
	a.severity = "low";
	a.count = 1;
	a.event = d;
	ms_buf_init(&b, 1 << 20);
	assert_int_equal(alert_to_json(&a, &b), 0);
	if (ms_json_yaml_parse(b.data, b.len, &docs, &ndocs, err, sizeof(err)) < 0)
		fail_msg("minisocctl cannot read the alert: %s: %s", err, b.data);
	ms_yaml_docs_free(docs, ndocs);
	ms_buf_fini(&b);
	free(d);
}

/* ---- mutation smoke test ------------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rng(void)
{
	return test_gen_next(&rng_state);
}

/*
 * Mutates every table line (bytes from a syntax-heavy alphabet, random
 * bytes, deletions, truncations) and checks: slices in the line or the
 * scratch area, counters in range, a webserver event has a status, a
 * firewall event a source.
 */
static void
test_mutations(void **state)
{
	static const char alphabet[] = " []{}<>:;=,.'\"\\%+-/?()0123456789xuIN=SRC=\r\n\x00\xff";
	size_t ncases = MS_ARRAY_LEN(field_cases);
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25, .tz_offset_s = 25200 };
	struct decoded *d = malloc(sizeof(*d));
	char work[1024];

	(void)state;
	assert_non_null(d);
	for (int iter = 0; iter < 100000; iter++) {
		const struct field_case *c = &field_cases[rng() % ncases];
		size_t len = ms_copy(work, sizeof(work), c->line, strlen(c->line));
		int muts = 1 + (int)(rng() % 4);
		char *buf;

		for (int m = 0; m < muts && len > 0; m++) {
			size_t at = (size_t)(rng() % len);
			switch (rng() % 4) {
			case 0:
				work[at] = alphabet[rng() % (sizeof(alphabet) - 1)];
				break;
			case 1:
				work[at] = (char)(rng() & 0xff);
				break;
			case 2:
				memmove(work + at, work + at + 1, len - at - 1);
				len--;
				break;
			default:
				len = at;
				break;
			}
		}
		buf = dup_exact(work, len);
		decode_line(buf, len, &ctx, d);
		check_slices("mutation", d, buf, len);
		if (d->category != NULL && strcmp(d->category, "webserver") == 0)
			assert_non_null(decode_field_get(d, "sc-status"));
		if (d->category != NULL && strcmp(d->category, "firewall") == 0)
			assert_non_null(d->product);
		assert_true(d->repeat >= 1);
		free(buf);
	}
	free(d);
}

/* ---- main ---------------------------------------------------------------- */

/* decode_ipv4 must accept and read exactly what inet_pton(AF_INET) does. */
static void
check_ipv4(const char *p, size_t n)
{
	char buf[32];
	uint8_t a[4] = { 0 }, b[4] = { 0 };
	bool mine = decode_ipv4(p, n, a);
	bool libc;

	if (n >= sizeof(buf) || memchr(p, '\0', n) != NULL) {
		assert_false(mine && n >= sizeof(buf));
		return;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	libc = inet_pton(AF_INET, buf, b) == 1;
	if (mine != libc)
		fail_msg("decode_ipv4(\"%s\") = %d, inet_pton says %d", buf, mine, libc);
	if (mine)
		assert_memory_equal(a, b, 4);
}

static void
test_ipv4_like_inet_pton(void **state)
{
	static const char *const fixed[] = { "1.2.3.4", "0.0.0.0", "255.255.255.255",
		"256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5",
		"1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "10.0.0.00", "192.168.001.1", "1.2.3.04",
		"999.1.1.1", "1.2.3.4x", "", "1", "1.2.3.255", "1.2.3.256", "0x1.2.3.4" };
	static const char alpha[] = "0123456789..25";
	uint32_t x = 12345;
	char s[20];

	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(fixed); i++)
		check_ipv4(fixed[i], strlen(fixed[i]));
	/* Random strings over digits and dots, lengths 0..17. */
	for (int i = 0; i < 200000; i++) {
		size_t n;
		x = x * 1103515245u + 12345u;
		n = (x >> 16) % 18;
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245u + 12345u;
			s[k] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
		}
		check_ipv4(s, n);
	}
}

static const struct CMUnitTest single_tests[] = {
	cmocka_unit_test(test_reuse_resets),
	cmocka_unit_test(test_field_get_case),
	cmocka_unit_test(test_web_scratch_exhausted),
	cmocka_unit_test(test_json_scratch_exhausted),
	cmocka_unit_test(test_json_depth),
	cmocka_unit_test(test_field_table_full),
	cmocka_unit_test(test_field_get_names),
	cmocka_unit_test(test_zeek_other_paths),
	cmocka_unit_test(test_zeek_null_member),
	cmocka_unit_test(test_zeek_name_not_utf8),
	cmocka_unit_test(test_mutations),
	cmocka_unit_test(test_ipv4_like_inet_pton),
};

/* One cmocka test per table row, named after the row. */
static struct CMUnitTest tests[MS_ARRAY_LEN(field_cases) + MS_ARRAY_LEN(single_tests)];

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < MS_ARRAY_LEN(field_cases); i++) {
		tests[n].name = field_cases[i].name;
		tests[n].test_func = test_field_case;
		tests[n++].initial_state = (void *)&field_cases[i];
	}
	for (size_t i = 0; i < MS_ARRAY_LEN(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("decode_fields", tests, NULL, NULL);
}
