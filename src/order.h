/*
 * [output] keep_order: job output, and joblog records, in input order.
 */
#ifndef MPW_ORDER_H
#define MPW_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct joblog_entry;

/* How far ahead of the earliest job not yet out a job may start. */
#define ORDER_WINDOW	4096

void order_init(bool on);
bool order_on(void);
/* Whether job seq may start now: within ORDER_WINDOW of the earliest not out. */
bool order_admits(uint64_t seq);
/*
 * Output of job seq on stream (1 stdout, 2 stderr): written now when seq
 * is the earliest job not out, else held.  0, or the errno of a failed
 * write.
 */
int  order_output(uint64_t seq, int stream, const char *p, size_t n);
/* A joblog record of job seq: added now, or held with its output.  Whether it was held. */
bool order_record(const struct joblog_entry *e);
/* Job seq will not run again (finished, or passed over): it and those that waited on it go out. */
void order_done(uint64_t seq);
/* At the end: everything still held, in order.  Returns the records not added (their output was lost). */
uint64_t order_finish(void);

#endif
