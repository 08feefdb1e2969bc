/*
 * The queue's commands (see queue.h for the table): make the tables, add
 * jobs, show the counts, put dead jobs back.  Each returns an exit code.
 */
#ifndef MPW_QADMIN_H
#define MPW_QADMIN_H

struct cfg;

/* --queue-init: the table, the dead table and their indexes; running it again changes nothing. */
int qadmin_init(const struct cfg *cfg);
/*
 * --enqueue: lines (each a job; "-" alone for standard input), or with
 * none what [jobs] names, in batches of one transaction and one wake-up
 * each.  Prints how many were added.
 */
int qadmin_enqueue(struct cfg *cfg, char **lines, int nlines);
/* --queue-status: ready, running, waiting and dead counts, the oldest ready job's age, the hosts. */
int qadmin_status(const struct cfg *cfg);
/* --queue-retry: dead jobs (ids, or "all") back to ready, with their attempts reset. */
int qadmin_retry(const struct cfg *cfg, char **ids, int nids);

#endif
