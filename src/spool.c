/* A service's spool: see spool.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobsrc.h"
#include "spool.h"
#include "sup.h"
#include "util.h"

static const char magic[] = "mpworker spool 1\n";

/* Sync the directory that holds path, so that a rename or unlink in it lasts. */
static int
sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

long
spool_load(const char *path, struct jobq *q, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char head[sizeof(magic)];
	long n = 0;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(head, 1, sizeof(magic) - 1, f) != sizeof(magic) - 1 || memcmp(head, magic, sizeof(magic) - 1) != 0)
		goto bad;
	for (;;) {
		unsigned long len;
		char nl;
		int r = fscanf(f, "%lu%c", &len, &nl);
		if (r == EOF)
			break;
		if (r != 2 || nl != '\n' || len > JOB_MAX_LEN)
			goto bad;
		struct job *j = job_new((uint64_t)n + 1, NULL, len);
		if (fread(j->text, 1, len, f) != len || fgetc(f) != '\n') {
			free(j);
			goto bad;
		}
		if (memchr(j->text, '\0', len) != NULL) {
			free(j);
			fclose(f);
			jq_free(q);
			snprintf(err, errlen, "spool %s holds a NUL byte in job %ld; move it away to start without it",
			    path, n + 1);
			return -1;
		}
		n++;
		jq_push(q, j);
	}
	fclose(f);
	return n;
bad:
	fclose(f);
	jq_free(q);
	snprintf(err, errlen, "spool %s is not a spool mpworker wrote whole (record %ld);"
	    " move it away to start without it", path, n + 1);
	return -1;
}

static void
put_jobs(struct buf *b, const struct jobq *q)
{
	for (const struct job *j = q->head; j != NULL; j = j->next) {
		buf_printf(b, "%zu\n", j->len);
		buf_add(b, j->text, j->len);
		buf_add(b, "\n", 1);
	}
}

int
spool_save(const char *path, const struct jobq *a, const struct jobq *b, char *err, size_t errlen)
{
	if (a->n + b->n == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			return snprintf(err, errlen, "cannot remove the spool %s: %s", path, strerror(errno)), -1;
		(void)sync_dir(path);
		return 0;
	}
	struct buf out = { 0 };
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;

	buf_add(&out, magic, sizeof(magic) - 1);
	put_jobs(&out, a);
	put_jobs(&out, b);
	if (fd < 0 || write_all(fd, out.data, out.len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write the spool %s: %s", tmp, strerror(errno));
		unlink(tmp);
	} else if (rename(tmp, path) < 0 || sync_dir(path) < 0) {
		snprintf(err, errlen, "cannot put the spool in place as %s: %s", path, strerror(errno));
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	buf_free(&out);
	return rc;
}
