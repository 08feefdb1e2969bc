/* Message framing: any byte stream parses into size-checked messages or stops with an error. */
#include "fuzz.h"

#include <string.h>

#include "msg.h"
#include "util.h"

/* The fixed part of each type, as msg.c's table has it. */
static size_t
fixed_size(uint32_t type)
{
	switch (type) {
	case MSG_JOB: return sizeof(struct msg_job);
	case MSG_SPAWN: return sizeof(struct msg_spawn);
	case MSG_OUTPUT: return sizeof(struct msg_output);
	case MSG_RESULT: return sizeof(struct msg_result);
	case MSG_INTENT: return sizeof(struct msg_intent);
	case MSG_GROUP: return sizeof(struct msg_group);
	case MSG_Q_WANT: return sizeof(struct msg_qwant);
	case MSG_Q_DONE: case MSG_Q_FAIL: case MSG_Q_RELEASE: case MSG_Q_JOB: return sizeof(struct msg_qtoken);
	case MSG_Q_HELD: return sizeof(struct msg_qheld);
	case MSG_Q_STATE: return sizeof(struct msg_qstate);
	default: return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = { 0 };
	struct msg m;
	int r;

	buf_add(&b, data, size);
	while ((r = msg_get(&b, &m)) == 1) {
		FUZZ_ASSERT(m.type > 0 && m.type < MSG_TYPE_MAX);
		FUZZ_ASSERT(m.taillen <= MSG_MAX_PAYLOAD);
		/* msg_get() neither moves nor grows the buffer: the tail is inside the input. */
		FUZZ_ASSERT(m.tail >= b.data && m.tail + m.taillen <= b.data + size);
		/* What msg_put writes, msg_get gives back. */
		struct buf again = { 0 };
		struct msg m2;
		msg_put(&again, m.type, &m.u, fixed_size(m.type), m.tail, m.taillen);
		FUZZ_ASSERT(msg_get(&again, &m2) == 1);
		FUZZ_ASSERT(m2.type == m.type && m2.taillen == m.taillen && memcmp(m2.tail, m.tail, m.taillen) == 0);
		buf_free(&again);
	}
	FUZZ_ASSERT(r == 0 || r == -1);
	buf_free(&b);
	return 0;
}
