/* Unit tests of the message framing: every message size-checked before use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "msg.h"

static void
roundtrip_job(void **state)
{
	struct buf b = { 0 };
	struct msg_job j = { .seq = 42, .attempt = 3 };
	struct msg m;

	(void)state;
	msg_put(&b, MSG_JOB, &j, sizeof(j), "echo hi", 7);
	assert_int_equal(msg_get(&b, &m), 1);
	assert_int_equal(m.type, MSG_JOB);
	assert_int_equal(m.u.job.seq, 42);
	assert_int_equal(m.u.job.attempt, 3);
	assert_int_equal(m.taillen, 7);
	assert_memory_equal(m.tail, "echo hi", 7);
	assert_int_equal(msg_get(&b, &m), 0);
	buf_free(&b);
}

static void
partial_then_whole(void **state)
{
	struct buf whole = { 0 }, b = { 0 };
	struct msg_result r = { .seq = 7, .exitval = 2, .signal = 9 };
	struct msg m;

	(void)state;
	msg_put(&whole, MSG_RESULT, &r, sizeof(r), "why", 3);
	/* Feed it a byte at a time: nothing comes out until the last byte. */
	for (size_t i = 0; i < whole.len - 1; i++) {
		buf_add(&b, whole.data + i, 1);
		assert_int_equal(msg_get(&b, &m), 0);
	}
	buf_add(&b, whole.data + whole.len - 1, 1);
	assert_int_equal(msg_get(&b, &m), 1);
	assert_int_equal(m.u.result.seq, 7);
	assert_int_equal(m.u.result.exitval, 2);
	assert_int_equal(m.u.result.signal, 9);
	assert_int_equal(m.taillen, 3);
	buf_free(&whole);
	buf_free(&b);
}

static void
several_in_one_buffer(void **state)
{
	struct buf b = { 0 };
	struct msg m;

	(void)state;
	for (uint64_t i = 1; i <= 100; i++) {
		struct msg_job j = { .seq = i };
		msg_put(&b, MSG_JOB, &j, sizeof(j), "x", 1);
	}
	msg_put(&b, MSG_DRAIN, NULL, 0, NULL, 0);
	for (uint64_t i = 1; i <= 100; i++) {
		assert_int_equal(msg_get(&b, &m), 1);
		assert_int_equal(m.u.job.seq, i);
	}
	assert_int_equal(msg_get(&b, &m), 1);
	assert_int_equal(m.type, MSG_DRAIN);
	assert_int_equal(msg_get(&b, &m), 0);
	buf_free(&b);
}

static void
put_header(struct buf *b, uint32_t type, uint32_t len)
{
	struct msg_hdr h = { .type = type, .len = len };

	buf_add(b, &h, sizeof(h));
}

static void
rejects_unknown_type(void **state)
{
	struct buf b = { 0 };
	struct msg m;

	(void)state;
	put_header(&b, 0, 0);
	assert_int_equal(msg_get(&b, &m), -1);
	buf_reset(&b);
	put_header(&b, MSG_TYPE_MAX, 0);
	assert_int_equal(msg_get(&b, &m), -1);
	buf_free(&b);
}

static void
rejects_oversized_length(void **state)
{
	struct buf b = { 0 };
	struct msg m;

	(void)state;
	/* Refused from the header alone, before waiting for a megabyte. */
	put_header(&b, MSG_OUTPUT, MSG_MAX_PAYLOAD + 1);
	assert_int_equal(msg_get(&b, &m), -1);
	buf_free(&b);
}

static void
rejects_short_fixed_part(void **state)
{
	struct buf b = { 0 };
	struct msg m;

	(void)state;
	put_header(&b, MSG_RESULT, sizeof(struct msg_result) - 1);
	buf_add(&b, "0123456789012345678901234567890123456789012345678901234567890123", sizeof(struct msg_result) - 1);
	assert_int_equal(msg_get(&b, &m), -1);
	buf_free(&b);
}

static void
rejects_tail_where_none_belongs(void **state)
{
	struct buf b = { 0 };
	struct msg m;

	(void)state;
	put_header(&b, MSG_DRAIN, 4);
	buf_add(&b, "junk", 4);
	assert_int_equal(msg_get(&b, &m), -1);
	buf_free(&b);
}

static void
through_a_pipe(void **state)
{
	struct buf out = { 0 }, in = { 0 };
	struct msg m;
	int fds[2];
	char big[200000];

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(pipe(fds), 0);
	fd_set_nonblock(fds[0]);
	fd_set_nonblock(fds[1]);
	struct msg_output o = { .seq = 1, .stream = 1 };
	msg_put(&out, MSG_OUTPUT, &o, sizeof(o), big, sizeof(big));
	/* The pipe takes 64 KiB at a time: write and read in turns. */
	int got = 0;
	while (!got) {
		int r = msg_flush(fds[1], &out);
		assert_true(r >= 0);
		while (msg_read(fds[0], &in) > 0)
			;
		got = msg_get(&in, &m);
		assert_true(got >= 0);
	}
	assert_int_equal(m.taillen, sizeof(big));
	assert_int_equal(msg_flush(fds[1], &out), 0);
	close(fds[0]);
	close(fds[1]);
	buf_free(&out);
	buf_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_job),
		cmocka_unit_test(partial_then_whole),
		cmocka_unit_test(several_in_one_buffer),
		cmocka_unit_test(rejects_unknown_type),
		cmocka_unit_test(rejects_oversized_length),
		cmocka_unit_test(rejects_short_fixed_part),
		cmocka_unit_test(rejects_tail_where_none_belongs),
		cmocka_unit_test(through_a_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
