/*
 * Where jobs come from: the inline [jobs] job = lines first, then the
 * lines of [jobs] file ("-" is standard input), or for rename jobs the
 * files of [rename] directory, and with [rename] watch in service mode
 * the files that arrive there afterwards.  The file is streamed
 * through a fixed buffer and never read whole, so a jobs file of ten
 * million lines runs in bounded memory.  Blank lines and lines whose first
 * non-blank character is '#' are not jobs.
 */
#ifndef MPW_JOBSRC_H
#define MPW_JOBSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct jobsrc;

/* A job line longer than this is a failed job, never run. */
#define JOB_MAX_LEN	((1u << 20) - 64)

struct jobline {
	uint64_t	 seq;		/* position among the jobs, from 1 */
	const char	*text;		/* valid until the next jobsrc_next() */
	size_t		 len;
	bool		 too_long;	/* text holds only its start */
	bool		 has_nul;	/* text holds a NUL byte: never run, it would run cut short */
	bool		 watched;	/* reported by [rename] watch, not listed */
};

/*
 * Open the sources the config names.  With follow (service mode), a FIFO
 * is opened so that it never reaches end of file: jobs written to it at
 * any time are run.  NULL with err on failure.
 */
struct jobsrc *jobsrc_open(const struct cfg *cfg, bool follow, char *err, size_t errlen);

/*
 * The next job.  Returns 1 with *jl filled, 0 when the file has nothing to
 * read now (poll jobsrc_fd() for input), -1 at the end of every source.
 * A read error is logged and ends the input.
 */
int  jobsrc_next(struct jobsrc *src, struct jobline *jl);

/* The descriptor to poll for more input, or -1 when none needs polling. */
int  jobsrc_fd(const struct jobsrc *src);

/* The descriptor of a file the source opened itself (not stdin), or -1. */
int  jobsrc_file_fd(const struct jobsrc *src);

/* Tell the source that poll found jobsrc_fd() readable. */
void jobsrc_readable(struct jobsrc *src);

/*
 * [rename] watch: a file mpworker itself renamed to path is not a new
 * arrival; its event is dropped when it comes.
 */
void jobsrc_ignore(struct jobsrc *src, const char *path);

void jobsrc_close(struct jobsrc *src);

#endif
