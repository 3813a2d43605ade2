/*
 * Unit tests of the collector's spool file (journal.c) on a real folder:
 * records come back as written, a torn or corrupt tail is cut at open, the
 * size cap refuses without leaving anything, and reset empties the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_journal.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
put(struct journal *j, uint8_t kind, const char *agent, uint64_t seq, const char *c1,
    const char *c2)
{
	struct journal_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.agent = agent;
	r.agent_len = strlen(agent);
	r.seq = seq;
	r.nalerts = 2;
	r.cmd[r.ncmds] = c1;
	r.cmdlen[r.ncmds++] = strlen(c1);
	if (c2) {
		r.cmd[r.ncmds] = c2;
		r.cmdlen[r.ncmds++] = strlen(c2);
	}
	assert_int_equal(journal_append(j, &r), 0);
}

static void
test_roundtrip(void **state)
{
	char err[256];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;

	(void)state;
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), 0);
	put(j, 7, "web1", 42, "*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nEXEC\r\n");
	put(j, 3, "", 0, "*1\r\n$5\r\nMULTI\r\n", NULL);
	assert_int_equal(journal_sync(j), 0);
	journal_free(j);

	/* Reopened: both records, as written. */
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 2);
	assert_int_equal(journal_read(j, off, &r, &next), 1);
	assert_int_equal(r.kind, 7);
	assert_int_equal(r.seq, 42);
	assert_int_equal(r.nalerts, 2);
	assert_int_equal(r.agent_len, 4);
	assert_memory_equal(r.agent, "web1", 4);
	assert_int_equal(r.ncmds, 2);
	assert_int_equal(r.cmdlen[1], strlen("*1\r\n$4\r\nEXEC\r\n"));
	assert_memory_equal(r.cmd[1], "*1\r\n$4\r\nEXEC\r\n", r.cmdlen[1]);
	off = next;
	assert_int_equal(journal_read(j, off, &r, &next), 1);
	assert_int_equal(r.kind, 3);
	assert_int_equal(r.agent_len, 0);
	assert_int_equal(r.ncmds, 1);
	assert_int_equal(next, journal_size(j));
	assert_int_equal(journal_read(j, next, &r, &next), 0);

	assert_int_equal(journal_reset(j), 0);
	assert_int_equal(journal_size(j), 0);
	journal_free(j);
}

static void
test_torn_and_corrupt_tail(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t good;
	int fd;
	struct stat sb;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	put(j, 1, "a", 1, "x", NULL);
	good = journal_size(j);
	put(j, 1, "a", 2, "y", NULL);
	journal_free(j);

	/* A crash in the middle of the second record's write. */
	assert_int_equal(truncate(path, (off_t)good + 7), 0);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), good);
	assert_int_equal(journal_stats(j)->recovered, 1);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 7);
	put(j, 1, "a", 3, "z", NULL);
	journal_free(j);

	/* A flipped byte in the last record: it is cut, the first stays. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Q", 1, (off_t)good + 20), 1);
	close(fd);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), good);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, good);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);

	/* Garbage from the first byte: nothing usable, an empty journal. */
	fd = open(path, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage!garbage!", 16), 16);
	close(fd);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), 0);
	journal_free(j);
}

static void
test_cap(void **state)
{
	char err[256], big[4000];
	struct journal *j;
	struct journal_rec r;
	uint64_t size;
	int n = 0;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = journal_open(dir, 65536, err, sizeof(err));
	assert_non_null(j);
	memset(&r, 0, sizeof(r));
	r.ncmds = 1;
	r.cmd[0] = big;
	r.cmdlen[0] = strlen(big);
	while (journal_append(j, &r) == 0)
		n++;
	assert_true(n > 10 && n < 17);
	size = journal_size(j);
	assert_true(size <= 65536);
	assert_int_equal(journal_stats(j)->full, 1);
	/* Refused whole: nothing of it stays, and the journal still reads. */
	journal_free(j);
	j = journal_open(dir, 65536, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), size);
	assert_int_equal(journal_stats(j)->recovered, (uint64_t)n);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	r.ncmds = JOURNAL_MAX_CMDS + 1;
	assert_int_equal(journal_append(j, &r), -1);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);

	/* A folder that cannot be made is an error with its name. */
	assert_null(journal_open("/proc/minisoc-no/such", 65536, err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/minisoc-no/such"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_corrupt_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
