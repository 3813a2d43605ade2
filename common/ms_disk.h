/*
 * ms_disk – reading durable files on a disk that may fail: what both
 * daemons' spools (agent/spool.c, collector/journal.c) do when a block
 * cannot be read.
 */
#ifndef MS_DISK_H
#define MS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The unit a failing disk loses: a page, what a file system checksums. */
#define MS_DISK_BLOCK 4096
#define MS_DISK_TRIES 3
#define MS_DISK_PAUSE_NS 100000000L

/*
 * Whether errno e says the medium could not give the data: EIO (a bad
 * sector, data btrfs's checksum rejects), EBADE (ZFS's checksum), EUCLEAN
 * or EBADMSG (other file systems' detected corruption).
 */
bool ms_disk_media_error(int e);

/*
 * Reads len bytes of fd at off (the caller keeps them inside the file). A
 * block the disk cannot read (ms_disk_media_error) is read again
 * MS_DISK_TRIES times MS_DISK_PAUSE_NS apart (a passing fault: a path of
 * a multipath or iSCSI disk failing over), then reads as zeros: the
 * caller's checks reject them as damage, where a short read would have
 * looked like the file's end. Adds such bytes to *unreadable, sets
 * *bad_end past the last of them and *bad_start (if it is still
 * UINT64_MAX) at the first (either NULL: not wanted). Returns the bytes
 * read (fewer only at the file's end), -1 on any other error (errno).
 */
ssize_t ms_disk_pread(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start);
/*
 * As ms_disk_pread, but a block is tried once, without pauses: for a
 * caller that tries again on its own schedule from an event loop (the
 * collector's replay waiting for a block), where pauses would stall every
 * connection.
 */
ssize_t ms_disk_pread_once(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start);
/*
 * As ms_disk_pread, but stops after the first block it cannot read: the
 * bytes before it are read, that block reads as zeros (up to its end,
 * *bad_end), and nothing after it is read – a caller that goes on after
 * the block does not try the ones after it twice.
 */
ssize_t ms_disk_pread_to_bad(int fd, char *buf, size_t len, uint64_t off, uint64_t *unreadable,
    uint64_t *bad_end, uint64_t *bad_start);

#endif
