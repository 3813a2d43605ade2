/*
 * Fuzz target: the agent's spool as found at start (spool.c) – a segment
 * torn by a crash, a page lost in a power cut, flipped bits, lengths and
 * checksums that lie, the old records of a reused file, a log line that
 * looks like a record. The first 8 bytes of the input are the segment's
 * first sequence number (its file name; with the top bit set, the folder
 * has a key – bytes 0..15 – and the segment is not a legacy one, so its
 * records must carry tags: the seeds *_keyed do; with the next bit set as
 * well, the key file names the segment legacy: CRC alone), the rest its
 * file; opening scans it (cuts, skips, notes file ends), then every record
 * left is read back (as many as the scan counted) and the file ends are
 * asked for.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "fuzz_dir.h"
#include "ms_rec.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t fuzz_spool_sink;

static int
take(const struct spool_rec *r, void *arg)
{
	const uint64_t *first = arg;

	if (r->seq < *first)
		abort();	/* a record older than its segment was taken */
	/* Touch both ends of every slice. */
	if (r->line_len)
		fuzz_spool_sink += (unsigned char)r->line[0] + (unsigned char)r->line[r->line_len - 1];
	if (r->src_len)
		fuzz_spool_sink += (unsigned char)r->src[0] + (unsigned char)r->src[r->src_len - 1];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_opts o = { .max_bytes = 1u << 26, .segment_bytes = 1u << 20, .sync = false };
	char path[600], name[32], err[256];
	struct spool_stats st;
	struct spool *sp;
	uint64_t first = 1;
	bool keyed = false, legacy = false;

	fuzz_dir_init("fuzz_spool", NULL);
	if (size >= 8) {
		memcpy(&first, data, 8);
		keyed = first >> 63;
		legacy = (first >> 62) & 1;
		first = first % (UINT64_C(1) << 53) + 1;
		data += 8;
		size -= 8;
	}
	if (keyed) {
		/* "MSK1", the key 0..15, legacy_last, has_legacy, CRC-32C: as spool.c writes it */
		char k[36];

		memcpy(k, "MSK1", 4);
		for (int i = 0; i < 16; i++)
			k[4 + i] = (char)i;
		ms_put64(k + 20, legacy ? first : 0);
		ms_put32(k + 28, legacy ? 1 : 0);
		ms_put32(k + 32, ms_crc32c(k, 32));
		fuzz_dir_write("key", (const uint8_t *)k, sizeof(k), path, sizeof(path));
	}
	snprintf(name, sizeof(name), "%016llx.seg", (unsigned long long)first);
	fuzz_dir_write(name, data, size, path, sizeof(path));
	if ((sp = spool_open(fuzz_dir, &o, 0, err, sizeof(err))) != NULL) {
		spool_get_stats(sp, &st);
		fuzz_spool_sink += spool_max_seq(sp);
		/* What the scan counted is what the loader hands out: they judge records alike. */
		if (spool_load(sp, take, &first) != st.recovered)
			abort();
		{
			struct spool_hole h[SPOOL_MAX_FILE_HOLES];
			size_t nh = SPOOL_MAX_FILE_HOLES;

			fuzz_spool_sink += spool_take_file_end(sp, 0, 0, "", 0, NULL, h, &nh);
			/* a hole is lines after from and before the line ending at to */
			for (size_t i = 0; i < nh; i++)
				if (h[i].from >= h[i].to)
					abort();
		}
		fuzz_spool_sink += st.recovered;
		spool_free(sp);
	}
	fuzz_dir_empty();
	return 0;
}
