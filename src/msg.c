/* Message framing: see msg.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

/* The fixed part each type must carry, and whether it may have a tail. */
static const struct {
	const char *name;
	size_t      fixed;
	int         tail;
} types[MSG_TYPE_MAX] = {
	[MSG_JOB]      = { "job",      sizeof(struct msg_job),    1 },
	[MSG_DRAIN]    = { "drain",    0,                         0 },
	[MSG_READY]    = { "ready",    0,                         0 },
	[MSG_INITFAIL] = { "initfail", 0,                         1 },
	[MSG_SPAWN]    = { "spawn",    sizeof(struct msg_spawn),  0 },
	[MSG_OUTPUT]   = { "output",   sizeof(struct msg_output), 1 },
	[MSG_RESULT]   = { "result",   sizeof(struct msg_result), 1 },
	[MSG_INTENT]   = { "intent",   sizeof(struct msg_intent), 0 },
	[MSG_GROUP]    = { "group",    sizeof(struct msg_group),  0 },
	[MSG_RECONNECTED] = { "reconnected", 0,                   0 },
	[MSG_Q_WANT]   = { "want",     sizeof(struct msg_qwant),  0 },
	[MSG_Q_DONE]   = { "done",     sizeof(struct msg_qtoken), 0 },
	[MSG_Q_FAIL]   = { "fail",     sizeof(struct msg_qtoken), 1 },
	[MSG_Q_RELEASE] = { "release", sizeof(struct msg_qtoken), 0 },
	[MSG_Q_HELD]   = { "held",     sizeof(struct msg_qheld),  1 },
	[MSG_Q_JOB]    = { "qjob",     sizeof(struct msg_qtoken), 1 },
	[MSG_Q_STATE]  = { "state",    sizeof(struct msg_qstate), 0 },
};

const char *
msg_type_name(uint32_t type)
{
	if (type == 0 || type >= MSG_TYPE_MAX)
		return "unknown";
	return types[type].name;
}

void
msg_put(struct buf *b, uint32_t type, const void *fixed, size_t fixedlen,
    const void *tail, size_t taillen)
{
	struct msg_hdr h = { .type = type, .len = (uint32_t)(fixedlen + taillen) };

	buf_reserve(b, sizeof(h) + fixedlen + taillen + 1);
	buf_add(b, &h, sizeof(h));
	if (fixedlen > 0)
		buf_add(b, fixed, fixedlen);
	if (taillen > 0)
		buf_add(b, tail, taillen);
}

int
msg_get(struct buf *b, struct msg *m)
{
	struct msg_hdr h;
	const char *p = buf_head(b);

	if (buf_pending(b) < sizeof(h))
		return 0;
	memcpy(&h, p, sizeof(h));
	if (h.type == 0 || h.type >= MSG_TYPE_MAX || h.len > MSG_MAX_PAYLOAD ||
	    h.len < types[h.type].fixed ||
	    (!types[h.type].tail && h.len != types[h.type].fixed)) {
		errno = EPROTO;
		return -1;
	}
	if (buf_pending(b) < sizeof(h) + h.len)
		return 0;
	p += sizeof(h);
	m->type = h.type;
	memset(&m->u, 0, sizeof(m->u));
	memcpy(&m->u, p, types[h.type].fixed);
	m->tail = p + types[h.type].fixed;
	m->taillen = h.len - types[h.type].fixed;
	buf_consume(b, sizeof(h) + h.len);
	return 1;
}

ssize_t
msg_read(int fd, struct buf *b)
{
	ssize_t n;

	buf_compact(b);
	buf_reserve(b, MSG_CHUNK + 1);
	do {
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	return n;
}

int
msg_flush(int fd, struct buf *b)
{
	while (buf_pending(b) > 0) {
		ssize_t n = write(fd, buf_head(b), buf_pending(b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		buf_consume(b, (size_t)n);
	}
	return 0;
}
