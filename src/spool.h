/*
 * A service's spool: the jobs it had read from a stream (a FIFO, a pipe
 * on stdin) and not run when it was asked to stop, kept in a file next
 * to the joblog (JOBLOG.spool) and run first at the next start.  A stream
 * cannot be read again, so without it a stop or restart would lose them.
 *
 * The file is written whole under a temporary name, synced and renamed
 * into place, so it is always one stop's complete list.  It is removed
 * once every job it held has finished (and is in the joblog); a stop
 * before that writes the jobs still left, with any new ones, in its
 * place.  So a stop and start run each job once; after a crash (kill -9)
 * the jobs of a spool being run are run again, done or not.
 *
 * Format: "mpworker spool 1\n", then per job its length in decimal, a
 * newline, its bytes and a newline.
 */
#ifndef MPW_SPOOL_H
#define MPW_SPOOL_H

#include <stddef.h>

struct jobq;

/*
 * Read the spool at path into q, each job numbered from 1, in order.
 * Returns how many (0 when there is no spool), or -1 with err when the
 * file cannot be read or is not a spool.
 */
long spool_load(const char *path, struct jobq *q, char *err, size_t errlen);
/*
 * Write the jobs of each queue (in order: a, then b) as the spool at
 * path, or remove it when they are none.  0, or -1 with err.
 */
int  spool_save(const char *path, const struct jobq *a, const struct jobq *b, char *err, size_t errlen);

#endif
