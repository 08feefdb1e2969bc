/* Unit tests of the job source: streaming, what is not a job, overlong lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "jobsrc.h"
#include "util.h"

static char path[] = "/tmp/mpw-test-jobs-XXXXXX";

static void
write_file(const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Read every job from a source of inline jobs and the file, joined by '|'. */
static char *
read_all(const struct strlist *inl, uint64_t *last_seq)
{
	struct cfg cfg = { .file = path };
	struct buf out = { 0 };
	struct jobline jl;
	char err[256];
	int r;

	if (inl != NULL)
		cfg.job = *inl;
	struct jobsrc *src = jobsrc_open(&cfg, false, err, sizeof(err));
	assert_non_null(src);
	while ((r = jobsrc_next(src, &jl)) != -1) {
		assert_int_equal(r, 1);	/* a regular file never makes us wait */
		if (out.len)
			buf_add(&out, "|", 1);
		if (jl.too_long)
			buf_printf(&out, "TOOLONG(%zu)", jl.len);
		else
			buf_add(&out, jl.text, jl.len);
		*last_seq = jl.seq;
	}
	jobsrc_close(src);
	if (out.data == NULL)
		buf_add(&out, "", 0);
	return out.data;
}

static void
skips_blank_and_comment_lines(void **state)
{
	uint64_t seq = 0;
	const char data[] = "one\n\n   \n# comment\n  # indented comment\ntwo\r\nthree";

	(void)state;
	write_file(data, strlen(data));
	char *got = read_all(NULL, &seq);
	assert_string_equal(got, "one|two|three");
	assert_int_equal(seq, 3);	/* Seq counts jobs, not lines */
	free(got);
}

static void
inline_jobs_come_first(void **state)
{
	uint64_t seq = 0;
	char *v[] = { "inline 1", "# not a job", "inline 2" };
	struct strlist inl = { v, 3 };

	(void)state;
	write_file("file 1\nfile 2\n", 14);
	char *got = read_all(&inl, &seq);
	assert_string_equal(got, "inline 1|inline 2|file 1|file 2");
	assert_int_equal(seq, 4);
	free(got);
}

static void
overlong_line_is_one_failed_job(void **state)
{
	uint64_t seq = 0;
	size_t big = JOB_MAX_LEN + 5000;
	char *data = malloc(big + 100);

	(void)state;
	strcpy(data, "before\n");
	memset(data + 7, 'x', big);
	strcpy(data + 7 + big, "\nafter\n");
	write_file(data, strlen(data));
	char *got = read_all(NULL, &seq);
	assert_string_equal(got, "before|TOOLONG(200)|after");
	assert_int_equal(seq, 3);
	free(got);
	free(data);
}

static void
many_lines_stream(void **state)
{
	uint64_t seq = 0;
	FILE *f = fopen(path, "w");

	(void)state;
	for (int i = 1; i <= 200000; i++)
		fprintf(f, "job %d\n", i);
	fclose(f);
	struct cfg cfg = { .file = path };
	char err[256];
	struct jobline jl;
	struct jobsrc *src = jobsrc_open(&cfg, false, err, sizeof(err));
	char want[32];
	while (jobsrc_next(src, &jl) == 1) {
		seq++;
		snprintf(want, sizeof(want), "job %llu", (unsigned long long)seq);
		assert_string_equal(jl.text, want);
		assert_int_equal(jl.seq, seq);
	}
	assert_int_equal(seq, 200000);
	jobsrc_close(src);
}

static void
missing_file_is_an_error(void **state)
{
	struct cfg cfg = { .file = "/nonexistent/jobs.txt" };
	char err[256];

	(void)state;
	assert_null(jobsrc_open(&cfg, false, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/jobs.txt: No such file"));
}

static int
setup(void **state)
{
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(skips_blank_and_comment_lines),
		cmocka_unit_test(inline_jobs_come_first),
		cmocka_unit_test(overlong_line_is_one_failed_job),
		cmocka_unit_test(many_lines_stream),
		cmocka_unit_test(missing_file_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
