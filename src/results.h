/*
 * [output] results: each job's output in files of its own, renamed into
 * place when the job's attempt ends, so a partial file never has its
 * final name.
 */
#ifndef MPW_RESULTS_H
#define MPW_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;

/* results: [output] results, or NULL (a dry run writes none). */
void results_init(const char *results);
bool results_on(void);
/* Output of job seq (its line text) on stream 1 or 2, to its temporary file.  0, or an errno. */
int  results_output(uint64_t seq, const char *text, int stream, const char *p, size_t n);
/* The attempt of job seq ended: its files take their final names (made empty if it wrote nothing).  0, or an errno. */
int  results_finish(uint64_t seq, const char *text);
/* The attempt of job seq did not end (its worker died, or mpworker is stopping): its temporary files go.  Without results, nothing. */
void results_discard(uint64_t seq);
void results_close(void);

#endif
