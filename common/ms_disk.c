/* ms_disk – reading durable files on a failing disk (see ms_disk.h). */
#include "ms_disk.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool
ms_disk_media_error(int e)
{
	return e == EIO || e == EBADE || e == EUCLEAN || e == EBADMSG;
}

static ssize_t
disk_pread(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start, bool to_bad, int ntries)
{
	size_t got = 0;
	int tries = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		size_t skip;

		if (n > 0) {
			got += (size_t)n;
			tries = 0;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (!ms_disk_media_error(errno))
			return -1;
		if (++tries < ntries) {
			struct timespec ts = { 0, MS_DISK_PAUSE_NS };
			nanosleep(&ts, NULL);
			continue;
		}
		tries = 0;
		skip = MS_DISK_BLOCK - (size_t)((off + got) % MS_DISK_BLOCK);
		if (skip > len - got)
			skip = len - got;
		memset(buf + got, 0, skip);
		if (bad_start != NULL && *bad_start == UINT64_MAX)
			*bad_start = off + got;
		got += skip;
		*unreadable += skip;
		if (bad_end != NULL)
			*bad_end = off + got;
		if (to_bad)
			break;
	}
	return (ssize_t)got;
}

ssize_t
ms_disk_pread(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start)
{
	return disk_pread(fd, buf, len, off, unreadable, bad_end, bad_start, false, MS_DISK_TRIES);
}

ssize_t
ms_disk_pread_once(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start)
{
	return disk_pread(fd, buf, len, off, unreadable, bad_end, bad_start, false, 1);
}

ssize_t
ms_disk_pread_to_bad(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start)
{
	return disk_pread(fd, buf, len, off, unreadable, bad_end, bad_start, true, MS_DISK_TRIES);
}
