/*
 * fuzz_dir – the folder of a fuzz target whose input is a file on disk (the
 * agent's spool and state, the collector's journal): made once under
 * $TMPDIR (or the folder given), emptied after each input, removed at exit.
 * Header-only: each target is its own program.
 */
#ifndef FUZZ_DIR_H
#define FUZZ_DIR_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_log.h"

static char fuzz_dir[256];

/* Removes every file of the folder (what the target's code left there too). */
static void
fuzz_dir_empty(void)
{
	char path[600];
	struct dirent *de;
	DIR *d = opendir(fuzz_dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", fuzz_dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

static void
fuzz_dir_cleanup(void)
{
	fuzz_dir_empty();
	rmdir(fuzz_dir);
}

/* Makes the folder on the first call: base/NAME.XXXXXX (base NULL: $TMPDIR or /tmp). */
static void
fuzz_dir_init(const char *name, const char *base)
{
	if (fuzz_dir[0] != '\0')
		return;
	if (base == NULL)
		base = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/%s.XXXXXX", base ? base : "/tmp", name);
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	ms_log_init("fuzz", MS_LOG_ERR);
	atexit(fuzz_dir_cleanup);
}

/* Writes data[0..size) as the folder's file NAME; path gets its path. */
static void
fuzz_dir_write(const char *name, const uint8_t *data, size_t size, char *path, size_t pathsz)
{
	FILE *f;

	snprintf(path, pathsz, "%s/%s", fuzz_dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

#endif
