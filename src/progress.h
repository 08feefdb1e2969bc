/*
 * The progress bar on stderr: done/total, rate and ETA, redrawn in place
 * at most five times a second.  Until the whole input has been read the
 * total is unknown and a running count is shown instead.  Anything else
 * written to the terminal first calls progress_clear().
 */
#ifndef MPW_PROGRESS_H
#define MPW_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

void progress_init(bool enabled);
bool progress_enabled(void);
/* Whether progress_draw would draw now: on, and forced or 0.2 s since the last time. */
bool progress_due(bool force);
/*
 * Redraw if enough time has passed (or force).  total is 0 while
 * unknown.  extra, when not NULL, follows the bar as far as the
 * terminal's width allows (the groups under way), and the bar is made
 * shorter to leave it room.
 */
void progress_draw(uint64_t done, uint64_t failed, uint64_t total, double rate, const char *extra, bool force);
/* Erase the bar, so that a log line or job output can be written. */
void progress_clear(void);
/* End the bar's line at the end of the run, leaving its last state visible. */
void progress_finish(void);

#endif
