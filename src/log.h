/*
 * Logging for the parent and the workers, in the manner of OpenBSD's daemons:
 * log_warn() appends strerror(errno), log_warnx() does not; fatal() and
 * fatalx() are for start-up and impossible states only.
 *
 * Every line goes to stderr with one write(2), so lines from the parent and
 * the workers never tear.  When stderr is the journal (JOURNAL_STREAM names
 * its device and inode, see sd-daemon(3)) each line
 * carries a <N> priority prefix instead of the program name.
 */
#ifndef MPW_LOG_H
#define MPW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set the verbosity (messages above it are dropped) and the line prefix. */
void log_init(int verbosity, const char *ident);
void log_set_ident(const char *ident);
int  log_verbosity(void);

/*
 * A hook called before each line is written, so that a progress bar on the
 * same terminal can be cleared first.  NULL for none.
 */
void log_set_before_write(void (*fn)(void));

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line someone asked for (SIGUSR1's status): info priority, shown even with -q. */
void log_asked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
