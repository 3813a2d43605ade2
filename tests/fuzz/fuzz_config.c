/*
 * Fuzz target: the daemons' configuration files (semi-trusted: written by
 * an operator, often from a template or a configuration tool). The bytes
 * become one file, loaded as the collector's, the agent's and the
 * forwarder's configuration (ms_config's typed keys, then each daemon's
 * own lists: collectors:, files:, tls.pin_sha256, health.antimalware).
 * Each load either succeeds or says why; what it filled is read whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "collector.h"
#include "forward.h"
#include "fuzz_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Big: not on the stack. */
static struct collector_conf fuzz_config_cc;
static struct agent_conf fuzz_config_ac;
static struct agent_file_conf fuzz_config_files[AGENT_MAX_FILES];
static struct fwd_conf fuzz_config_fc;
static volatile size_t fuzz_config_sink;

/* A load that failed must say why; one that succeeded must not leave a half message. */
static void
fuzz_config_said(int rc, const char *err)
{
	if (rc != 0 && rc != -1)
		abort();
	if (rc < 0 && err[0] == '\0')
		abort();
	fuzz_config_sink += strlen(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300], err[1024];
	struct ms_yaml_node *root = NULL;
	size_t nfiles = 0;
	int rc;

	if (size > 1 << 20)
		return 0;
	fuzz_dir_init("fuzz_config", NULL);
	fuzz_dir_write("c.yml", data, size, path, sizeof(path));

	err[0] = '\0';
	rc = collector_conf_load(path, &fuzz_config_cc, err, sizeof(err));
	fuzz_config_said(rc, err);
	if (rc == 0)
		fuzz_config_sink += strlen(fuzz_config_cc.tls_ca) + strlen(fuzz_config_cc.redis_host);

	err[0] = '\0';
	rc = agent_conf_load(path, &fuzz_config_ac, fuzz_config_files, &nfiles, &root, err,
	    sizeof(err));
	fuzz_config_said(rc, err);
	if (rc == 0) {
		if (nfiles > AGENT_MAX_FILES || fuzz_config_ac.ncollectors == 0)
			abort();
		for (size_t i = 0; i < nfiles; i++)
			fuzz_config_sink += strlen(fuzz_config_files[i].path);
		for (size_t i = 0; i < fuzz_config_ac.ncollectors; i++)
			fuzz_config_sink += strlen(fuzz_config_ac.collectors[i].host) +
			    fuzz_config_ac.collectors[i].port;
	}
	if (root != NULL)
		ms_yaml_node_free(root);

	err[0] = '\0';
	rc = fwd_conf_load(path, &fuzz_config_fc, err, sizeof(err));
	fuzz_config_said(rc, err);
	if (rc == 0)
		fuzz_config_sink += strlen(fuzz_config_fc.upstream_host) +
		    strlen(fuzz_config_fc.upstream_server_name);

	fuzz_dir_empty();
	return 0;
}
