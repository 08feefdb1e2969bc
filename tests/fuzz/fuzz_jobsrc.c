/*
 * Job-line splitting: a jobs file of any bytes is handed out as lines with
 * no newline in them, none longer than the limit unless marked, a NUL
 * byte always marked, and every job line numbered in order.
 */
#include "fuzz.h"

#include <string.h>

#include "cfg.h"
#include "jobsrc.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], ini[64], err[1024];
	int fd = fuzz_file(data, size, path, sizeof(path));
	char conf[160];
	int n = snprintf(conf, sizeof(conf), "[jobs]\nfile = %s\n", path);
	int cfd = fuzz_file((const uint8_t *)conf, (size_t)n, ini, sizeof(ini));
	struct cfg *cfg;
	struct jobsrc *src;
	struct jobline jl;
	uint64_t seq = 0;
	int r;

	log_init(LOG_LVL_ERR, "fuzz");
	cfg = cfg_load(ini, NULL, err, sizeof(err));
	FUZZ_ASSERT(cfg != NULL);
	src = jobsrc_open(cfg, false, err, sizeof(err));
	FUZZ_ASSERT(src != NULL);
	while ((r = jobsrc_next(src, &jl)) == 1) {
		FUZZ_ASSERT(jl.seq == ++seq);
		FUZZ_ASSERT(memchr(jl.text, '\n', jl.len) == NULL);
		FUZZ_ASSERT(jl.text[jl.len] == '\0');
		FUZZ_ASSERT(jl.has_nul == (memchr(jl.text, '\0', jl.len) != NULL));
		FUZZ_ASSERT(jl.len <= JOB_MAX_LEN);
	}
	FUZZ_ASSERT(r == -1);
	jobsrc_close(src);
	cfg_free(cfg);
	close(cfd);
	close(fd);
	return 0;
}
