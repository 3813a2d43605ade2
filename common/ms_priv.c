#include "ms_priv.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
