/* The INI layer: any bytes give a config or an error message, never a crash. */
#include "fuzz.h"

#include <string.h>

#include "cfg.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[8192];
	int fd = fuzz_file(data, size, path, sizeof(path));
	struct cfg *cfg;

	log_init(LOG_LVL_ERR, "fuzz");
	err[0] = '\0';
	cfg = cfg_load(path, NULL, err, sizeof(err));
	if (cfg == NULL) {
		/* Every refusal says where: FILE:LINE: or FILE: and why. */
		FUZZ_ASSERT(strncmp(err, path, strlen(path)) == 0);
	} else {
		FUZZ_ASSERT(cfg->workers >= 1 && cfg->type != NULL);
		FILE *null = fopen("/dev/null", "we");
		cfg_print(cfg, null);
		fclose(null);
		cfg_free(cfg);
	}
	close(fd);
	return 0;
}
