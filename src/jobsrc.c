/*
 * The job source's operations, with what a source that leaves one out
 * means by it: see jobsrc.h.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "cfg.h"
#include "jobsrc.h"

struct jobsrc *
jobsrc_open(const struct cfg *cfg, bool follow, char *err, size_t errlen)
{
	const struct jobsrc_ops *ops = cfg->source != NULL && strcmp(cfg->source, "queue") == 0 ?
	    &jobsrc_queue : &jobsrc_file;
	struct jobsrc *src = ops->open(cfg, follow, err, errlen);

	if (src != NULL)
		src->ops = ops;
	return src;
}

struct jobsrc *
jobsrc_open_lines(const struct cfg *cfg, char *err, size_t errlen)
{
	struct jobsrc *src = jobsrc_file.open(cfg, false, err, errlen);

	if (src != NULL)
		src->ops = &jobsrc_file;
	return src;
}

int
jobsrc_next(struct jobsrc *src, struct jobline *jl)
{
	memset(jl, 0, sizeof(*jl));
	return src->ops->next(src, jl);
}

int
jobsrc_fd(const struct jobsrc *src, short *events)
{
	*events = 0;
	return src->ops->fd(src, events);
}

void
jobsrc_ready(struct jobsrc *src, short revents)
{
	src->ops->ready(src, revents);
}

void
jobsrc_ignore(struct jobsrc *src, const char *path)
{
	if (src->ops->ignore != NULL)
		src->ops->ignore(src, path);
}

void
jobsrc_want(struct jobsrc *src, size_t n, size_t of)
{
	if (src->ops->want != NULL)
		src->ops->want(src, n, of);
}

bool
jobsrc_settles(const struct jobsrc *src)
{
	return src->ops->ended != NULL;
}

bool
jobsrc_ended(struct jobsrc *src, uint64_t seq, unsigned attempt, enum jobsrc_end how, const char *why)
{
	return src->ops->ended != NULL ? src->ops->ended(src, seq, attempt, how, why) : true;
}

void
jobsrc_unused(struct jobsrc *src, uint64_t seq, unsigned attempt)
{
	if (src->ops->unused != NULL)
		src->ops->unused(src, seq, attempt);
}

int
jobsrc_reaped(struct jobsrc *src, pid_t pid, int status)
{
	return src != NULL && src->ops->reaped != NULL ? src->ops->reaped(src, pid, status) : 0;
}

double
jobsrc_timer(struct jobsrc *src)
{
	return src->ops->timer != NULL ? src->ops->timer(src) : 0;
}

void
jobsrc_status(const struct jobsrc *src, char *out, size_t len)
{
	if (len > 0)
		out[0] = '\0';
	if (src->ops->status != NULL)
		src->ops->status(src, out, len);
}

bool
jobsrc_queue_state(const struct jobsrc *src, struct jobsrc_qstate *q)
{
	*q = (struct jobsrc_qstate){ 0 };
	return src->ops->queue != NULL && src->ops->queue(src, q);
}

const char *
jobsrc_failed(const struct jobsrc *src)
{
	return src->ops->failed != NULL ? src->ops->failed(src) : NULL;
}

void
jobsrc_close(struct jobsrc *src)
{
	if (src != NULL)
		src->ops->close(src);
}
