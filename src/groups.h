/*
 * Fan-in: [jobs] group, then and finally.  Each job line belongs to the
 * group its group template names (a field of the line); once the input
 * has ended and every job of a group has succeeded, the group's step
 * ([jobs] then, with the group key as {group}) runs once, as a job of
 * its own; when every job and step of the run has succeeded, [jobs]
 * finally runs once.  A group with a failed job does not run its step,
 * and says which job.
 *
 * Steps are numbered after the input, so that the joblog records them
 * like jobs and --resume neither repeats one nor skips one: with N job
 * lines and G groups, the step of the k-th group to appear is job N + k,
 * and finally is N + G + 1 (N + 1 without then).  Like the jobs'
 * numbers, theirs hold while the input is the same.
 */
#ifndef MPW_GROUPS_H
#define MPW_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct group;
struct job;

/* The checks of [jobs] group, then and finally at load: 0, or -1 with msg and *line. */
int  groups_check(const struct cfg *cfg, int *line, char *msg, size_t msglen);
void groups_init(const struct cfg *cfg);
bool groups_on(void);
/*
 * A job line was read: the group it belongs to (NULL without [jobs]
 * group).  earlier says whether an earlier run finished it (--resume),
 * and earlier_ok whether it succeeded there.
 */
struct group *groups_line(const char *text, size_t len, bool earlier, bool earlier_ok);
/* The input has ended after lines job lines. */
void groups_eof(uint64_t lines);
/*
 * A job (or step) will not run again: how it ended.  seq and reason name
 * a failure in the group's message.
 */
void groups_job_end(const struct job *j, bool ok, const char *reason);
/*
 * The next step due now, as a job to queue (the caller owns it), or
 * NULL.  A step whose group failed comes too, with why it will not run
 * in why (else why is ""): the caller records it as failed.  all_done:
 * every job and step has finished, and failed says whether any of this
 * run failed; finally comes only then.  done and done_ok tell, for
 * --resume, which numbers an earlier run finished, and which of those
 * succeeded: a step that did is not due again.
 */
struct job *groups_next_step(bool all_done, bool failed, bool (*done)(uint64_t seq),
    bool (*done_ok)(uint64_t seq), char *why, size_t whylen);
/* Groups under way for the progress line: "name 3/4 ..." in out. */
void groups_progress(char *out, size_t len);
/* The summary's part: "3 groups, 1 step not run", or "". */
void groups_summary(char *out, size_t len);
void groups_free(void);

#endif
