/* Unit tests of the INI file: values, defaults, and errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "log.h"

static char dir[] = "/tmp/mpw-test-cfg-XXXXXX";
static char path[256];
static char err[8192];

static struct cfg *
load(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	err[0] = '\0';
	return cfg_load(path, NULL, err, sizeof(err));
}

/* The error text must name the file, the line and the key. */
static void
expect_error(const char *text, int line, const char *needle)
{
	char where[300];
	struct cfg *cfg = load(text);

	if (cfg != NULL)
		fail_msg("accepted a bad config:\n%s", text);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	if (strstr(err, where) == NULL)
		fail_msg("error does not name %s:\n%s", where, err);
	if (strstr(err, needle) == NULL)
		fail_msg("error does not say '%s':\n%s", needle, err);
}

static void
full_config(void **state)
{
	(void)state;
	struct cfg *cfg = load(
	    "; a comment\n"
	    "# another\n"
	    "[pool]\n"
	    "workers = 7\n"
	    "max_jobs_per_worker = 100\n"
	    "job_timeout = 1.5m   ; inline comment\n"
	    "retries = 2\n"
	    "joblog = logs/run.joblog\n"
	    "[jobs]\n"
	    "type = command\n"
	    "file = /abs/jobs.txt\n"
	    "job = echo one\n"
	    "job = echo two\n"
	    "[command]\n"
	    "template = ./x.sh {1}\n"
	    "shell = /bin/bash\n");
	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg->workers, 7);
	assert_int_equal(cfg->max_jobs_per_worker, 100);
	assert_true(cfg->job_timeout == 90.0);
	assert_int_equal(cfg->retries, 2);
	/* Relative paths start at the INI file's directory. */
	char want[300];
	snprintf(want, sizeof(want), "%s/logs/run.joblog", dir);
	assert_string_equal(cfg->joblog, want);
	assert_string_equal(cfg->file, "/abs/jobs.txt");
	assert_int_equal(cfg->job.n, 2);
	assert_string_equal(cfg->job.v[1], "echo two");
	assert_string_equal(cfg->template, "./x.sh {1}");
	assert_string_equal(cfg->shell, "/bin/bash");
	assert_int_equal(cfg_line(cfg, "pool", "retries"), 7);
	assert_int_equal(cfg_line(cfg, "pool", "stop_timeout"), 0);
	cfg_free(cfg);
}

static void
defaults(void **state)
{
	(void)state;
	struct cfg *cfg = load("[jobs]\njob = true\n");
	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(cfg->workers, sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(cfg->retries, 0);
	assert_true(cfg->job_timeout == 0);
	assert_string_equal(cfg->type, "command");
	assert_string_equal(cfg->driver, "none");
	assert_string_equal(cfg->shell, "/bin/sh");
	assert_null(cfg->joblog);
	cfg_free(cfg);
}

static void
durations(void **state)
{
	double d;

	(void)state;
	assert_int_equal(cfg_parse_duration("2", &d), 0);
	assert_true(d == 2);
	assert_int_equal(cfg_parse_duration("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(cfg_parse_duration("250ms", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(cfg_parse_duration("3s", &d), 0);
	assert_true(d == 3);
	assert_int_equal(cfg_parse_duration("2m", &d), 0);
	assert_true(d == 120);
	assert_int_equal(cfg_parse_duration("1.5h", &d), 0);
	assert_true(d == 5400);
	assert_int_equal(cfg_parse_duration("", &d), -1);
	assert_int_equal(cfg_parse_duration("5x", &d), -1);
	assert_int_equal(cfg_parse_duration("-1", &d), -1);
	assert_int_equal(cfg_parse_duration("ms", &d), -1);
	assert_int_equal(cfg_parse_duration("1 s", &d), -1);
	assert_int_equal(cfg_parse_duration("nan", &d), -1);
}

static void
errors_name_file_line_key(void **state)
{
	(void)state;
	expect_error("[pool]\nworkers = lots\n", 2, "[pool] workers: 'lots' is not a whole number");
	expect_error("[pool]\nworkers = 0\n", 2, "[pool] workers");
	expect_error("[pool]\n\n\nretries = -1\n", 4, "[pool] retries");
	expect_error("[pool]\njob_timeout = 5 minutes\n", 2, "[pool] job_timeout: '5 minutes' is not a duration");
	expect_error("[pool]\nwrokers = 4\n", 2, "unknown key (did you mean 'workers'?)");
	expect_error("[pool]\nflavour = 4\n", 2, "[pool] flavour: unknown key");
	expect_error("[pool]\nworkers = 2\n[poool]\nworkers = 3\n", 3, "[poool]: unknown section");
	expect_error("workers = 2\n", 1, "a key before any [section]");
	expect_error("[pool]\nworkers = 2\nworkers = 3\n", 3, "set twice (first on line 2)");
	expect_error("[jobs]\ntype = magic\n", 2, "[jobs] type: 'magic' is not one of: sql rename command");
	expect_error("[database]\ndriver = oracle\n", 2, "[database] driver: 'oracle' is not one of");
	expect_error("[pool]\nworkers 4\n", 2, "syntax error");
	expect_error("[jobs]\nfile =\n", 2, "[jobs] file: empty value");
	expect_error("[database]\npassword = a\npassword_file = /x\n", 3,
	    "give password or password_file, not both");
}

static void
every_error_is_reported(void **state)
{
	(void)state;
	assert_null(load("[pool]\nworkers = x\nretries = y\n"));
	assert_non_null(strstr(err, ":2: [pool] workers"));
	assert_non_null(strstr(err, ":3: [pool] retries"));
}

static void
unbuilt_parts_are_config_errors(void **state)
{
	(void)state;
	/* A driver this build lacks is a config error on its line, naming what is built. */
	if (!db_driver_built("postgresql"))
		expect_error("[jobs]\njob = true\n[database]\ndriver = postgresql\n", 4,
		    "'postgresql' is not built into this mpworker (built: none");
	if (job_kind_find("sql") == NULL)
		expect_error("[jobs]\ntype = sql\njob = SELECT 1\n", 2,
		    "'sql' jobs are not built into this mpworker");
	else
		expect_error("[jobs]\ntype = sql\njob = SELECT 1\n", 2,
		    "sql jobs need a [database] driver");
	expect_error("[jobs]\njob = true\n[database]\ninit = SET x = 1\n", 4,
	    "[database] init: init statements need a [database] driver");
	expect_error("[pool]\nworkers = 2\n[jobs]\ntype = command\n", 4,
	    "[jobs]: no jobs: give file = or job =");
}

static void
missing_file(void **state)
{
	(void)state;
	assert_null(cfg_load("/nonexistent/mpworker.ini", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/mpworker.ini: No such file or directory"));
}

static void
command_line_override(void **state)
{
	(void)state;
	struct cfg *cfg = load("[pool]\nworkers = 2\njoblog = a.log\n[jobs]\njob = true\n");
	assert_non_null(cfg);
	assert_int_equal(cfg_set(cfg, "pool", "workers", "9", err, sizeof(err)), 0);
	assert_int_equal(cfg->workers, 9);
	assert_int_equal(cfg_line(cfg, "pool", "workers"), -1);
	/* A path from the command line is relative to the current directory. */
	assert_int_equal(cfg_set(cfg, "pool", "joblog", "b.log", err, sizeof(err)), 0);
	assert_string_equal(cfg->joblog, "b.log");
	assert_int_equal(cfg_set(cfg, "pool", "workers", "none", err, sizeof(err)), -1);
	cfg_free(cfg);
}

static void
long_lines(void **state)
{
	(void)state;
	/* An init statement longer than inih's default 200-byte line. */
	char text[3000] = "[jobs]\njob = echo ";
	size_t n = strlen(text);
	memset(text + n, 'x', 2000);
	strcpy(text + n + 2000, "\n[pool]\nworkers = 3\n");
	struct cfg *cfg = load(text);
	if (cfg == NULL)
		fail_msg("%s", err);
	assert_int_equal(strlen(cfg->job.v[0]), 5 + 2000);
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg_line(cfg, "pool", "workers"), 4);
	cfg_free(cfg);
}

static void
print_round_trips(void **state)
{
	(void)state;
	struct cfg *cfg = load("[pool]\nworkers = 3\nretries = 1\njob_timeout = 250ms\n"
	    "[database]\npassword = secret\n[jobs]\njob = echo a\n");
	assert_non_null(cfg);
	char out[300];
	snprintf(out, sizeof(out), "%s/printed.ini", dir);
	FILE *f = fopen(out, "w");
	cfg_print(cfg, f);
	fclose(f);
	/* The printout never shows the password, and loads back to the same values. */
	FILE *r = fopen(out, "r");
	char text[8192] = "";
	size_t n = fread(text, 1, sizeof(text) - 1, r);
	text[n] = '\0';
	fclose(r);
	assert_null(strstr(text, "secret"));
	assert_non_null(strstr(text, "job_timeout = 250ms"));
	cfg_free(cfg);
	cfg = cfg_load(out, NULL, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("the printout does not load: %s", err);
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->retries, 1);
	assert_true(cfg->job_timeout == 0.25);
	assert_string_equal(cfg->job.v[0], "echo a");
	cfg_free(cfg);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test.ini", dir);
	log_init(LOG_LVL_ERR, "test");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_config),
		cmocka_unit_test(defaults),
		cmocka_unit_test(durations),
		cmocka_unit_test(errors_name_file_line_key),
		cmocka_unit_test(every_error_is_reported),
		cmocka_unit_test(unbuilt_parts_are_config_errors),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(command_line_override),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(print_round_trips),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
