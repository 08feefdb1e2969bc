/*
 * The joblog reader: --resume's set of finished jobs and --undo's rename
 * records.  Any file is a set or a clear error; every record read is a
 * job number the file holds.
 */
#include "fuzz.h"

#include <string.h>

#include "joblog.h"
#include "log.h"
#include "rename.h"

/* --resume hands each finished job's Command column on: it lies within the file. */
static size_t file_size, cmds;

static void
count_cmd(void *arg, const char *command)
{
	FUZZ_ASSERT(strlen(command) <= file_size);
	(*(size_t *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	int fd = fuzz_file(data, size, path, sizeof(path));

	log_init(LOG_LVL_ERR, "fuzz");
	file_size = size;
	for (int failed = 0; failed < 2; failed++) {
		cmds = 0;
		struct seqset *set = NULL, *ok = NULL;
		uint64_t n = 0;
		err[0] = '\0';
		int r = joblog_read_done(path, failed, &set, &ok, &n, count_cmd, &cmds, err, sizeof(err));
		FUZZ_ASSERT(r == 0 || (r == -1 && err[0] != '\0'));
		/* Each job counted comes from a line of its own: memory stays bounded by the file. */
		size_t lines = 0;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if (r == 0)
			FUZZ_ASSERT(n <= lines && cmds <= lines);
		seqset_free(set);
		seqset_free(ok);
	}
	close(fd);
	/* Each line as --undo reads a Command column. */
	char *text = strndup((const char *)data, size);
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		char *from, *to;
		if (rename_parse_logged(l, &from, &to) == 0) {
			FUZZ_ASSERT(from != NULL && to != NULL);
			free(from);
			free(to);
		}
	}
	free(text);
	return 0;
}
