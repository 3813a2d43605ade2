/*
 * disk_fault.h – a disk that fails, for unit tests of the spools (agent's
 * spool.c, collector's journal.c): pread(2) of the file with inode
 * fault.ino fails with EIO where it touches [fault.from, fault.to),
 * fault.times times (-1: always), as a bad block does; a read that starts
 * before the range comes back short, as the kernel's does. The test is
 * linked with -Wl,--wrap=pread. Include after cmocka.h, in one file.
 */
#ifndef DISK_FAULT_H
#define DISK_FAULT_H

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static struct {
	ino_t ino;
	off_t from, to;
	int times;	/* failures left; -1: for ever */
	int hits;
	off_t from2, to2;	/* a second bad range of the same file (0, 0: none) */
} fault;

static size_t pread_max;	/* the largest read asked for since set to 0 */
static void (*pread_hook)(int fd, size_t n, off_t off);	/* called before each read (NULL: none) */

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);

ssize_t
__wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	struct stat st;

	if (pread_hook != NULL)
		pread_hook(fd, n, off);
	if (n > pread_max)
		pread_max = n;
	if (fault.ino != 0 && fault.times != 0 && fault.to2 > fault.from2 && fstat(fd, &st) == 0 &&
	    st.st_ino == fault.ino && off < fault.to2 && off + (off_t)n > fault.from2 &&
	    !(off < fault.to && off + (off_t)n > fault.from && fault.from < fault.from2)) {
		if (off < fault.from2)
			return __real_pread(fd, buf, (size_t)(fault.from2 - off), off);
		if (fault.times > 0)
			fault.times--;
		fault.hits++;
		errno = EIO;
		return -1;
	}
	if (fault.ino != 0 && fault.times != 0 && fstat(fd, &st) == 0 && st.st_ino == fault.ino &&
	    off < fault.to && off + (off_t)n > fault.from) {
		if (off < fault.from)
			return __real_pread(fd, buf, (size_t)(fault.from - off), off);	/* short, as the kernel does */
		if (fault.times > 0)
			fault.times--;
		fault.hits++;
		errno = EIO;
		return -1;
	}
	return __real_pread(fd, buf, n, off);
}

/* Faults reads of path's bytes [from, to), times times (-1: always). */
static void
fault_on(const char *path, off_t from, off_t to, int times)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	fault.ino = st.st_ino;
	fault.from = from;
	fault.to = to;
	fault.times = times;
	fault.hits = 0;
	fault.from2 = fault.to2 = 0;
}

#endif
