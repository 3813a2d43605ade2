#include "ms_priv.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "ms_log.h"

int
ms_priv_drop(const char *user, char *err, size_t errsz)
{
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		return 0;
	if (geteuid() != 0) {
		ms_info("event=privileges note=\"not root: user %s not needed\"", user);
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "unknown user %s%s%s", user, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "user %s is root: nothing would be dropped", user);
		return -1;
	}
	/* Groups first: after setuid we could no longer change them. */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errsz, "cannot switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errsz, "root could be regained after switching to %s", user);
		return -1;
	}
	ms_info("event=privileges_dropped user=%s uid=%u gid=%u", pw->pw_name,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}

void
ms_priv_root_said(const char *user, const char *key)
{
	if ((user == NULL || *user == '\0') && geteuid() == 0)
		ms_warn("event=running_as_root note=\"%s is not set: nothing is dropped, every "
		    "privilege of root is kept (set it to the daemon's own user)\"", key);
}

int
ms_priv_drop_keep_net_raw(const char *user, char *err, size_t errsz)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	const uint32_t raw = 1u << CAP_NET_RAW;	/* CAP_NET_RAW is 13: the first word */

	if (user == NULL || *user == '\0' || geteuid() != 0)
		return ms_priv_drop(user, err, errsz);
	/* permitted capabilities survive setuid; the effective ones do not */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) {
		snprintf(err, errsz, "cannot keep CAP_NET_RAW: %s", strerror(errno));
		return -1;
	}
	if (ms_priv_drop(user, err, errsz) < 0)
		return -1;
	(void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	/* everything but CAP_NET_RAW goes for good */
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = data[0].inheritable = raw;
	if (syscall(SYS_capset, &hdr, data) != 0) {
		snprintf(err, errsz, "cannot keep only CAP_NET_RAW: %s", strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0 || data[0].permitted != raw ||
	    data[1].permitted != 0 || data[0].effective != raw) {
		snprintf(err, errsz, "capabilities other than CAP_NET_RAW remain after the drop");
		return -1;
	}
	ms_info("event=capabilities_kept caps=cap_net_raw");
	return 0;
}

int
ms_priv_give_dir(const char *user, const char *dir, char *err, size_t errsz)
{
	struct passwd *pw;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (user == NULL || *user == '\0' || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "unknown user %s", user);
		return -1;
	}
	if (chown(dir, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, errsz, "cannot give %s to %s: %s", dir, user, strerror(errno));
		return -1;
	}
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[4352];
		struct stat st;

		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		/* lstat: a symlink planted in the folder must not redirect the chown. */
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    lchown(path, pw->pw_uid, pw->pw_gid) != 0) {
			snprintf(err, errsz, "cannot give %s to %s: %s", path, user, strerror(errno));
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}
