/*
 * The supervisor: the parent's one event loop.  It forks the workers,
 * feeds them jobs through their pipes, writes each job's output and
 * joblog line as results arrive, reaps and replaces workers that die,
 * and turns signals (read from a signalfd) into drains, reloads and
 * status lines.
 */
#ifndef MPW_SUPERVISOR_H
#define MPW_SUPERVISOR_H

#include <stdbool.h>

#include "cfg.h"

struct cfg;

/* Exit codes of SPEC.md. */
enum mpw_exit {
	MPW_EXIT_OK = 0,		/* every job succeeded */
	MPW_EXIT_FAILED = 1,		/* at least one job failed after its retries */
	MPW_EXIT_USAGE = 2,		/* usage or configuration error: nothing ran */
	MPW_EXIT_INIT = 3,		/* workers could not start (the init hook failed) */
	MPW_EXIT_INTERRUPTED = 4,	/* stopped by a signal with jobs left: --resume continues */
	MPW_EXIT_UNRECORDED = 5,	/* the joblog or job output could not be written: stopped */
	MPW_EXIT_HALTED = 6,		/* stopped by [pool] halt (--halt): --resume continues */
};

struct sup_opts {
	bool dry_run;
	bool resume;		/* skip jobs the joblog has finished */
	bool resume_failed;	/* ... but run again the ones that failed */
	bool force;		/* start over a joblog whose renames --undo would need */
	bool service;
	bool progress;
	bool report;		/* the end-of-run report on stderr */
	const char *workers;	/* -j: overrides [pool] workers, on reload too */
	const char *joblog;	/* --joblog: overrides [pool] joblog, on reload too */
	const char *config;	/* -c: the INI file, or NULL for a configuration from the command line */
	struct strlist overrides;	/* -o section.key=value, and what --command, --sql stand for; on reload too */
};

/*
 * Apply the command line's overrides to a config just loaded.  0, or -1
 * with err.
 */
struct cfg;
int sup_apply_overrides(struct cfg *cfg, const struct sup_opts *opts, char *err, size_t errlen);

/*
 * Run every job of cfg (one-shot), or serve until stopped (service).
 * Takes ownership of cfg.  Returns an mpw_exit code.
 */
int sup_run(struct cfg *cfg, const struct sup_opts *opts);

#endif
