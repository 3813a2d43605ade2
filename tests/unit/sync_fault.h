/*
 * sync_fault.h – a disk that refuses a write, for unit tests of the spools:
 * fdatasync(2) fails with EIO while sync_fails is set. The test is linked
 * with -Wl,--wrap=fdatasync. Include after cmocka.h, in one file.
 */
#ifndef SYNC_FAULT_H
#define SYNC_FAULT_H

#include <errno.h>
#include <stdbool.h>

static bool sync_fails;

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

int
__wrap_fdatasync(int fd)
{
	if (sync_fails) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

#endif
