/*
 * mpworker: a fork-based multiprocess worker supervisor.  This file reads
 * the command line, loads the INI file and hands both to the supervisor.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "db.h"
#include "log.h"
#include "qadmin.h"
#include "rename.h"
#include "sdnotify.h"
#include "supervisor.h"
#include "util.h"

static const char usage_text[] =
"usage: mpworker -c FILE [options]\n"
"       mpworker [options] --command TEMPLATE < jobs     (no INI file needed)\n"
"       mpworker [options] --sql -o database.KEY=VALUE... < statements\n"
"  -c, --config FILE    the INI file (see mpworker.ini(5))\n"
"  -o SECTION.KEY=VALUE set any INI key, over the file's (repeatable)\n"
"      --command TEMPLATE  run TEMPLATE for each line ({} the line, {1}.. its fields)\n"
"      --sql            run each line as an SQL statement ([database] from -o)\n"
"  -j, --workers N      override [pool] workers\n"
"  -n, --dry-run        print what each job would do; change nothing, run nothing\n"
"      --check-config   parse and validate FILE, print the effective settings, exit\n"
"      --joblog FILE    override [pool] joblog\n"
"      --resume         skip jobs the joblog records as finished\n"
"      --resume-failed  like --resume, and run again the ones it records as failed\n"
"      --halt WHEN,WHAT=N[%]  stop early, as GNU parallel: soon|now, fail|success|done\n"
"      --line-buffer    pass a command's output on a line at a time, as it comes\n"
"  -k, --keep-order     output in the order of the input, not of the jobs' ends\n"
"      --tag            start each output line with its job's line and a tab\n"
"      --force          start over a rename joblog that records renames (--undo needs it)\n"
"      --progress, --no-progress\n"
"                       progress bar with rate and ETA on stderr\n"
"                       (default: on when stderr is a terminal)\n"
"      --service        run until stopped (systemd, Type=notify)\n"
"      --undo JOBLOG    rename back every rename JOBLOG records, newest first\n"
"queue ([jobs] source = queue; see mpworker.ini(5)):\n"
"      --queue-init     make the queue table and its dead table (idempotent)\n"
"      --enqueue [LINE...|-]  add jobs: the lines given, standard input (-),\n"
"                       or what [jobs] names\n"
"      --queue-status   ready, running, waiting and dead jobs, and where they run\n"
"      --queue-retry ID...|all  put dead jobs back in the queue\n"
"a running mpworker, through its [status] socket (read from FILE):\n"
"      --status [--json]  the pool, every worker and the totals\n"
"      --metrics        Prometheus text exposition\n"
"      --reload         reload its configuration; exit 0 once the new workers\n"
"                       are ready, 1 with the reason if not\n"
"  -q, --quiet          errors only, no report\n"
"  -v, --verbose        debugging detail: every worker start and exit\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"exit status: 0 all jobs succeeded, 1 some failed, 2 usage or config error,\n"
"             3 workers could not start, 4 interrupted (--resume continues),\n"
"             5 results could not be recorded (joblog or output not writable),\n"
"             6 halted by --halt (--resume continues)\n";

enum {
	OPT_CHECK = 256, OPT_JOBLOG, OPT_RESUME, OPT_RESUME_FAILED,
	OPT_PROGRESS, OPT_NO_PROGRESS, OPT_SERVICE, OPT_UNDO, OPT_FORCE, OPT_COMMAND, OPT_SQL, OPT_HALT,
	OPT_LINE_BUFFER, OPT_TAG, OPT_QUEUE_INIT, OPT_ENQUEUE, OPT_QUEUE_STATUS, OPT_QUEUE_RETRY,
	OPT_STATUS, OPT_JSON, OPT_METRICS, OPT_RELOAD,
};

static const struct option longopts[] = {
	{ "config",        required_argument, NULL, 'c' },
	{ "workers",       required_argument, NULL, 'j' },
	{ "dry-run",       no_argument,       NULL, 'n' },
	{ "check-config",  no_argument,       NULL, OPT_CHECK },
	{ "joblog",        required_argument, NULL, OPT_JOBLOG },
	{ "resume",        no_argument,       NULL, OPT_RESUME },
	{ "resume-failed", no_argument,       NULL, OPT_RESUME_FAILED },
	{ "progress",      no_argument,       NULL, OPT_PROGRESS },
	{ "no-progress",   no_argument,       NULL, OPT_NO_PROGRESS },
	{ "service",       no_argument,       NULL, OPT_SERVICE },
	{ "undo",          required_argument, NULL, OPT_UNDO },
	{ "force",         no_argument,       NULL, OPT_FORCE },
	{ "command",       required_argument, NULL, OPT_COMMAND },
	{ "sql",           no_argument,       NULL, OPT_SQL },
	{ "halt",          required_argument, NULL, OPT_HALT },
	{ "line-buffer",   no_argument,       NULL, OPT_LINE_BUFFER },
	{ "tag",           no_argument,       NULL, OPT_TAG },
	{ "keep-order",    no_argument,       NULL, 'k' },
	{ "queue-init",    no_argument,       NULL, OPT_QUEUE_INIT },
	{ "enqueue",       no_argument,       NULL, OPT_ENQUEUE },
	{ "queue-status",  no_argument,       NULL, OPT_QUEUE_STATUS },
	{ "queue-retry",   no_argument,       NULL, OPT_QUEUE_RETRY },
	{ "status",        no_argument,       NULL, OPT_STATUS },
	{ "json",          no_argument,       NULL, OPT_JSON },
	{ "metrics",       no_argument,       NULL, OPT_METRICS },
	{ "reload",        no_argument,       NULL, OPT_RELOAD },
	{ "quiet",         no_argument,       NULL, 'q' },
	{ "verbose",       no_argument,       NULL, 'v' },
	{ "help",          no_argument,       NULL, 'h' },
	{ "version",       no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int __attribute__((noreturn))
usage_error(const char *fmt, const char *arg)
{
	fputs("mpworker: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'mpworker --help'.\n", stderr);
	exit(MPW_EXIT_USAGE);
}

/* The command line's settings, freed at exit whichever way the program leaves. */
static struct sup_opts opts = { .report = true };
static struct strlist given;	/* the -o settings, in order */

static void
free_settings(void)
{
	strlist_free(&opts.overrides);
	strlist_free(&given);
}

/* What --status [--json], --metrics or --reload asks the status socket. */
static const char *
ctl_request_name(int cmd, bool json)
{
	return cmd == OPT_METRICS ? "metrics" : cmd == OPT_RELOAD ? "reload" : json ? "status json" : "status";
}

int
main(int argc, char **argv)
{
	const char *config = NULL, *workers = NULL, *joblog = NULL, *undo = NULL, *command = NULL;
	const char *halt = NULL;
	bool check = false, sql = false;
	int queue_cmd = 0, ctl_cmd = 0;
	bool json = false;
	int progress = -1;	/* -1: when stderr is a terminal */
	int verbosity = LOG_LVL_INFO;
	char err[8192];
	int c;

	atexit(free_settings);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:j:o:knqvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'o': strlist_add(&given, optarg); break;
		case OPT_COMMAND: command = optarg; break;
		case OPT_SQL: sql = true; break;
		case OPT_HALT: halt = optarg; break;
		case OPT_LINE_BUFFER: strlist_add(&given, "output.line_buffer=yes"); break;
		case OPT_TAG: strlist_add(&given, "output.tag=yes"); break;
		case 'k': strlist_add(&given, "output.keep_order=yes"); break;
		case 'j': workers = optarg; break;
		case 'n': opts.dry_run = true; break;
		case OPT_CHECK: check = true; break;
		case OPT_JOBLOG: joblog = optarg; break;
		case OPT_RESUME: opts.resume = true; break;
		case OPT_RESUME_FAILED: opts.resume_failed = true; break;
		case OPT_PROGRESS: progress = 1; break;
		case OPT_NO_PROGRESS: progress = 0; break;
		case OPT_SERVICE: opts.service = true; break;
		case OPT_UNDO: undo = optarg; break;
		case OPT_QUEUE_INIT: case OPT_ENQUEUE: case OPT_QUEUE_STATUS: case OPT_QUEUE_RETRY:
			if (queue_cmd != 0 && queue_cmd != c)
				usage_error("%s", "--queue-init, --enqueue, --queue-status and --queue-retry exclude each other");
			queue_cmd = c;
			break;
		case OPT_STATUS: case OPT_METRICS: case OPT_RELOAD:
			if (ctl_cmd != 0 && ctl_cmd != c)
				usage_error("%s", "--status, --metrics and --reload exclude each other");
			ctl_cmd = c;
			break;
		case OPT_JSON: json = true; break;
		case OPT_FORCE: opts.force = true; break;
		case 'q': verbosity = LOG_LVL_ERR; opts.report = false; break;
		case 'v': verbosity = LOG_LVL_DEBUG; break;
		case 'h': fputs(usage_text, stdout); return MPW_EXIT_OK;
		case 'V': printf("mpworker %s\n", PACKAGE_VERSION); return MPW_EXIT_OK;
		case ':':
			/* getopt is quiet (opterr off, ':'): say it once, ourselves. */
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	/* Only the queue's commands take arguments: lines, or job ids. */
	if (optind < argc && queue_cmd != OPT_ENQUEUE && queue_cmd != OPT_QUEUE_RETRY)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (undo != NULL) {
		log_init(verbosity, "mpworker");
		return rename_undo(undo);
	}
	if (command != NULL && sql)
		usage_error("%s", "--command and --sql exclude each other");
	if (config == NULL && command == NULL && !sql && given.n == 0)
		usage_error("%s", "no configuration: give -c FILE, or --command TEMPLATE, or --sql with -o");
	/* --command and --sql stand for settings; -o come after, so they win. */
	if (command != NULL) {
		strlist_add(&opts.overrides, "jobs.type=command");
		strlist_take(&opts.overrides, xasprintf("command.template=%s", command));
	} else if (sql) {
		strlist_add(&opts.overrides, "jobs.type=sql");
	}
	/* Without a file the jobs come from standard input, unless -o names them. */
	bool jobs_named = false;
	for (size_t i = 0; i < given.n; i++)
		if (strncmp(given.v[i], "jobs.file=", 10) == 0 || strncmp(given.v[i], "jobs.job=", 9) == 0)
			jobs_named = true;
	if (config == NULL && !jobs_named && queue_cmd == 0)
		strlist_add(&opts.overrides, "jobs.file=-");
	if (halt != NULL)
		strlist_take(&opts.overrides, xasprintf("pool.halt=%s", halt));
	for (size_t i = 0; i < given.n; i++)
		strlist_add(&opts.overrides, given.v[i]);
	opts.config = config;
	if (opts.resume && opts.resume_failed)
		usage_error("%s", "--resume and --resume-failed exclude each other");
	log_init(verbosity, "mpworker");
	sdn_init();

	struct cfg *cfg = cfg_load(config, &opts.overrides, err, sizeof(err));
	if (cfg == NULL && ctl_cmd != 0 && config != NULL) {
		/*
		 * An INI being edited may not parse while its service runs on
		 * the one it read: reach that service by the INI's path.
		 */
		fputs(err, stderr);
		const char *sock = ctl_path(NULL, config);
		if (sock == NULL)
			return MPW_EXIT_USAGE;
		log_warnx("%s does not parse; asking the service that runs it, on %s", config, sock);
		return ctl_request(sock, ctl_request_name(ctl_cmd, json));
	}
	if (cfg == NULL) {
		fputs(err, stderr);
		return MPW_EXIT_USAGE;
	}
	opts.workers = workers;
	opts.joblog = joblog;
	if (sup_apply_overrides(cfg, &opts, err, sizeof(err)) < 0) {
		cfg_free(cfg);
		usage_error("%s", err);
	}
	/* The driver is loaded by the workers; a missing one is a setup error, found here. */
	if (ctl_cmd == 0 && !db_driver_installed(cfg->driver, err, sizeof(err))) {
		log_errorx("%s", err);
		cfg_free(cfg);
		return MPW_EXIT_USAGE;
	}
	if (check) {
		cfg_print(cfg, stdout);
		cfg_free(cfg);
		return MPW_EXIT_OK;
	}
	if (json && ctl_cmd != OPT_STATUS)
		usage_error("%s", "--json goes with --status");
	if (ctl_cmd != 0) {
		int rc = MPW_EXIT_USAGE;
		const char *sock = ctl_path(cfg->status_socket, config);
		if (sock == NULL)
			log_errorx("no running mpworker service runs %s: it names no [status] socket, "
			    "and none of the units' sockets (/run/mpworker*/status.sock) answers for it%s",
			    config != NULL ? config : "the configuration",
			    geteuid() != 0 ? " (they are their service's and root's only: run this as root)" : "");
		else
			rc = ctl_request(sock, ctl_request_name(ctl_cmd, json));
		cfg_free(cfg);
		return rc;
	}
	if (queue_cmd != 0) {
		int rc = queue_cmd == OPT_QUEUE_INIT ? qadmin_init(cfg) :
		    queue_cmd == OPT_ENQUEUE ? qadmin_enqueue(cfg, argv + optind, argc - optind) :
		    queue_cmd == OPT_QUEUE_STATUS ? qadmin_status(cfg) : qadmin_retry(cfg, argv + optind, argc - optind);
		cfg_free(cfg);
		return rc;
	}
	opts.progress = progress < 0 ? isatty(STDERR_FILENO) && !opts.service : progress;
	return sup_run(cfg, &opts);
}
