/*
 * Framed messages between the parent and a worker, in the manner of
 * OpenBSD's imsg: a fixed header (type, payload length), then a fixed
 * part per type, then an optional variable tail (job text, output bytes,
 * a reason).  Both ends are the same binary, so fixed parts are plain
 * structs.  Every message is size-checked before use; an unknown type or a
 * length over MSG_MAX_PAYLOAD is a protocol error and the worker is
 * replaced.
 */
#ifndef MPW_MSG_H
#define MPW_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MSG_MAX_PAYLOAD	(1u << 20)	/* 1 MiB */
#define MSG_CHUNK	(64u << 10)	/* output travels in pieces of this size */

enum msg_type {
	/* parent -> worker */
	MSG_JOB = 1,	/* struct msg_job + job text */
	MSG_DRAIN,	/* finish the job in hand, drop the queued ones, exit */
	/* worker -> parent */
	MSG_READY,	/* the init hook passed */
	MSG_INITFAIL,	/* the init hook failed: tail is the reason */
	MSG_SPAWN,	/* struct msg_spawn: a child process started, or ended */
	MSG_OUTPUT,	/* struct msg_output + bytes of a job's output */
	MSG_RESULT,	/* struct msg_result + reason when failed */
	MSG_INTENT,	/* struct msg_intent: the file a rename job is about to rename */
	MSG_GROUP,	/* struct msg_group: the worker runs its next n jobs together */
	MSG_RECONNECTED,	/* the worker (or claimer) lost its database connection and opened a new one */
	/* parent -> claimer (a queue source's process, claimer.c) */
	MSG_Q_WANT,	/* struct msg_qwant: how many more jobs the host could take */
	MSG_Q_DONE,	/* struct msg_qtoken: the attempt succeeded */
	MSG_Q_FAIL,	/* struct msg_qtoken + why: the attempt failed */
	MSG_Q_RELEASE,	/* struct msg_qtoken: the job never ran; give it back */
	MSG_Q_HELD,	/* struct msg_qheld + n struct msg_qtoken: the jobs the host holds (to a new claimer) */
	/* claimer -> parent (and MSG_READY, MSG_INITFAIL) */
	MSG_Q_JOB,	/* struct msg_qtoken + the job's text */
	MSG_Q_STATE,	/* struct msg_qstate: the queue's counts */
	MSG_TYPE_MAX
};

struct msg_hdr {
	uint32_t type;
	uint32_t len;	/* payload bytes after this header */
};

struct msg_job {
	uint64_t seq;
	uint32_t attempt;
	uint32_t flags;		/* MJ_WATCHED, MJ_INTENT */
	uint64_t dev, ino;	/* with MJ_INTENT: the file an earlier attempt was renaming */
};

#define MJ_WATCHED	0x01	/* the job is a file [rename] watch reported */
#define MJ_INTENT	0x02	/* an earlier attempt died while renaming dev, ino */
#define MJ_STEP		0x04	/* a [jobs] then or finally step: its text is the command or SQL itself */

/*
 * Sent and flushed just before a rename job's rename(2), so that when the
 * worker dies right after it, the retry can tell the file it renamed (the
 * same inode under the new name) from an unrelated file of that name.
 */
struct msg_intent {
	uint64_t seq;
	uint64_t dev, ino;
};

/*
 * Sent as a worker starts a group (a batch, a pipeline) of n jobs: their
 * results come together at its end, so the parent allows the group n
 * times job_timeout, not one.
 */
struct msg_group {
	uint64_t seq;		/* the group's first job */
	uint32_t n;
	uint32_t pad;
};

struct msg_spawn {
	uint64_t seq;
	int32_t  pgid;	/* 0: the child has ended */
	uint32_t pad;
};

struct msg_output {
	uint64_t seq;
	uint32_t stream;	/* 1 = stdout, 2 = stderr */
	uint32_t pad;
};

struct msg_result {
	uint64_t seq;
	double   start;
	double   runtime;
	uint64_t send;
	uint64_t receive;
	int32_t  exitval;
	int32_t  signal;
	uint32_t flags;
	uint32_t pad;
	double   latency;	/* of runtime, the round trip a pipeline waited for; 0 unknown */
};

struct msg_qwant {
	uint64_t want;		/* jobs the host could take now, beyond those it holds */
	uint64_t received;	/* MSG_Q_JOB received so far: the rest are on their way */
};

struct msg_qtoken {
	uint64_t id;
	uint32_t attempt;	/* 1 for the first */
	uint32_t dead;		/* MSG_Q_FAIL: no attempt can help (the line cannot run) */
};

struct msg_qheld {
	uint32_t last;		/* the list is complete with this one */
	uint32_t n;		/* struct msg_qtoken that follow */
};

struct msg_qstate {
	int64_t  ready, running, waiting, dead;
	double   age;		/* of the oldest ready job, seconds */
	uint32_t empty;		/* no job of the queue is left but dead ones */
	uint32_t pad;
};

/* A parsed message: the fixed part copied out, the tail pointing into the buffer. */
struct msg {
	uint32_t	 type;
	union {
		struct msg_job		job;
		struct msg_spawn	spawn;
		struct msg_output	output;
		struct msg_result	result;
		struct msg_intent	intent;
		struct msg_group	group;
		struct msg_qwant	qwant;
		struct msg_qtoken	qtoken;
		struct msg_qstate	qstate;
		struct msg_qheld	qheld;
	} u;
	const char	*tail;
	size_t		 taillen;
};

/* Append one framed message to b. */
void msg_put(struct buf *b, uint32_t type, const void *fixed, size_t fixedlen,
    const void *tail, size_t taillen);

/*
 * Take the next complete message from the front of b.  Returns 1 with *m
 * filled (m->tail valid until b is next changed), 0 when b holds no whole
 * message yet, -1 when the front of b is not a valid message.
 */
int  msg_get(struct buf *b, struct msg *m);

/*
 * Read what fd has into b, up to MSG_CHUNK bytes at a time.  Returns bytes
 * read, 0 at end of file, -1 with errno (EAGAIN when a non-blocking fd is
 * empty).
 */
ssize_t msg_read(int fd, struct buf *b);

/*
 * Write as much of b as fd takes.  Returns 0 when b is empty, 1 when some
 * is left (the fd would block), -1 with errno on a write error.
 */
int  msg_flush(int fd, struct buf *b);

const char *msg_type_name(uint32_t type);

#endif
