/* Logging: see log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int verbose = LOG_LVL_INFO;
static const char *ident = "mpworker";
static int journal;
static void (*before_write)(void);

/*
 * Whether stderr is the journal's stream, as sd-daemon(3) says to tell:
 * JOURNAL_STREAM holds its device and inode.  Merely being set, it may
 * be inherited by a process whose stderr was redirected since.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(int verbosity, const char *id)
{
	verbose = verbosity;
	if (id != NULL)
		ident = id;
	journal = stderr_is_journal();
}

void
log_set_ident(const char *id)
{
	ident = id;
}

int
log_verbosity(void)
{
	return verbose;
}

void
log_set_before_write(void (*fn)(void))
{
	before_write = fn;
}

/* Format one line and write it with a single write(2), whatever the verbosity. */
static void
vlog_always(int level, int errnum, const char *fmt, va_list ap)
{
	/* syslog priorities: err, warning, info, debug. */
	static const int prio[] = { 3, 4, 6, 7 };
	char line[2048];
	size_t n;
	int r;

	if (journal)
		r = snprintf(line, sizeof(line), "<%d>", prio[level]);
	else
		r = snprintf(line, sizeof(line), "%s: ", ident);
	n = r < 0 ? 0 : (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (errnum != 0) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
		if (r > 0)
			n += (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (before_write != NULL)
		before_write();
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

static void
vlog(int level, int errnum, const char *fmt, va_list ap)
{
	if (level <= verbose)
		vlog_always(level, errnum, fmt, ap);
}

#define LOG_FN(name, writer, level, with_errno)			\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
	va_start(ap, fmt);					\
	writer(level, with_errno ? saved : 0, fmt, ap);		\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_warn, vlog, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, vlog, LOG_LVL_WARN, 0)
LOG_FN(log_info, vlog, LOG_LVL_INFO, 0)
LOG_FN(log_debug, vlog, LOG_LVL_DEBUG, 0)
LOG_FN(log_errorx, vlog, LOG_LVL_ERR, 0)
LOG_FN(log_asked, vlog_always, LOG_LVL_INFO, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(2);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(2);
}
