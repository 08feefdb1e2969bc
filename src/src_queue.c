/*
 * The queue source: jobs claimed from a table that many hosts drain
 * ([jobs] source = queue).  The parent loads no database driver, so the
 * claiming is done by a process of the source's own, the claimer
 * (claimer.c); this side forks it, asks it for as many jobs as the host
 * could take, hands them to the supervisor, and passes on how each
 * attempt ended.  A job's seq is its id in the table.
 *
 * SQL jobs complete in their own transaction (the worker runs the fence,
 * queue_sql_fence), so their effect happens exactly once; other kinds
 * are acknowledged here, after the attempt, so they run at least once.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "claimer.h"
#include "jobsrc.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "util.h"
#include "worker.h"

/* How long the end of a run waits for the claimer to record the last outcomes. */
#define SETTLE_WAIT	30.0
#define RESTART_FIRST	0.5
#define RESTART_MAX	30.0

struct qnode {
	struct qnode	*next;
	uint64_t	 id;
	uint32_t	 attempt;
	size_t		 len;
	char		 text[];
};

struct qsrc {
	struct jobsrc		 base;
	const struct cfg	*cfg;
	bool			 service;
	bool			 self_settles;	/* SQL jobs: done in their own transaction */
	pid_t			 pid;		/* the claimer; 0 when there is none */
	int			 fd;		/* our end of its socket, -1 when none */
	struct buf		 in, out;
	struct qnode		*head, *tail;
	struct qnode		*given;		/* the job handed out last: its text is the jobline's */
	uint64_t		 received;
	uint64_t		 want_sent, received_sent;
	bool			 ready;
	bool			 empty;		/* the claimer found the queue empty */
	bool			 started;	/* the claimer reached the database once */
	char			*initfail;	/* what the claimer said when it could not */
	char			*failed;	/* the run cannot go on: why */
	double			 restart_at;
	double			 backoff;
	struct msg_qstate	 state;
	bool			 have_state;
	uint64_t		 reconnects;	/* of the claimers, to the database */
};

#define QS(s) ((struct qsrc *)(s))

static int
start_claimer(struct qsrc *q)
{
	int sv[2];
	sigset_t all, old;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		/* Nothing of the parent's but the socket and the standard streams. */
		if (dup2(sv[1], 3) < 0)
			_exit(WEXIT_SYSTEM);
		close_range(4, ~0U, 0);
		struct claimer_args a = {
			.cfg = q->cfg, .fd = 3, .parent = getppid(), .service = q->service,
			.restarted = q->started,
		};
		log_set_before_write(NULL);
		claimer_main(&a);
	}
	close(sv[1]);
	q->fd = sv[0];
	fd_set_nonblock(q->fd);
	q->pid = pid;
	q->ready = false;
	q->want_sent = q->received_sent = 0;
	q->received = 0;	/* counted for each claimer: it counts what it sent */
	buf_reset(&q->in);
	buf_reset(&q->out);
	log_debug("queue: claimer started (pid %d)", (int)pid);
	return 0;
}

static void put(struct qsrc *q, uint32_t type, const void *fixed, size_t len, const char *tail, size_t taillen);

static void
add_token(void *arg, uint64_t seq, unsigned attempt)
{
	struct msg_qtoken t = { .id = seq, .attempt = attempt + 1 };

	buf_add(arg, &t, sizeof(t));
}

/*
 * To a claimer that replaces one that died: the jobs this host holds (the
 * supervisor's, and those received but not yet handed out), in messages
 * of at most 4096.  It gives back every other job the host owns in the
 * table: outcomes the old one had not recorded yet, and jobs it had sent
 * that never arrived.
 */
static void
tell_held(struct qsrc *q)
{
	struct buf all = { 0 };
	const size_t most = 4096 * sizeof(struct msg_qtoken);

	if (q->base.held != NULL)
		q->base.held(add_token, &all);
	for (const struct qnode *n = q->head; n != NULL; n = n->next)
		add_token(&all, n->id, n->attempt - 1);
	for (size_t off = 0; ; off += most) {
		size_t len = all.len - off < most ? all.len - off : most;
		struct msg_qheld h = { .last = off + len == all.len, .n = (uint32_t)(len / sizeof(struct msg_qtoken)) };
		put(q, MSG_Q_HELD, &h, sizeof(h), all.data != NULL ? all.data + off : NULL, len);
		if (h.last)
			break;
	}
	log_info("queue: the new claimer is told of the %zu jobs this host holds", all.len / sizeof(struct msg_qtoken));
	buf_free(&all);
}

static void
take_messages(struct qsrc *q)
{
	struct msg m;
	int r;

	while ((r = msg_get(&q->in, &m)) == 1) {
		switch (m.type) {
		case MSG_READY:
			if (q->started)
				tell_held(q);
			q->ready = q->started = true;
			q->backoff = 0;
			break;
		case MSG_INITFAIL:
			free(q->initfail);
			q->initfail = xstrndup(m.tail, m.taillen);
			break;
		case MSG_Q_JOB: {
			struct qnode *n = xmalloc(sizeof(*n) + m.taillen + 1);
			n->next = NULL;
			n->id = m.u.qtoken.id;
			n->attempt = m.u.qtoken.attempt;
			n->len = m.taillen;
			memcpy(n->text, m.tail, m.taillen);
			n->text[m.taillen] = '\0';
			if (q->tail != NULL)
				q->tail->next = n;
			else
				q->head = n;
			q->tail = n;
			q->received++;
			q->empty = false;
			break;
		}
		case MSG_RECONNECTED:
			q->reconnects++;
			break;
		case MSG_Q_STATE:
			q->state = m.u.qstate;
			q->have_state = true;
			if (m.u.qstate.empty)
				q->empty = true;
			break;
		default:
			log_warnx("queue: the claimer sent a %s message; replacing it", msg_type_name(m.type));
			kill(q->pid, SIGKILL);
			return;
		}
	}
	if (r < 0) {
		log_warnx("queue: malformed message from the claimer; replacing it");
		kill(q->pid, SIGKILL);
	}
	buf_compact(&q->in);
}

static void
qs_ready(struct jobsrc *s, short revents)
{
	struct qsrc *q = QS(s);

	if (q->fd < 0)
		return;
	if (revents & POLLOUT)
		msg_flush(q->fd, &q->out);
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n;
		while ((n = msg_read(q->fd, &q->in)) > 0)
			;
		take_messages(q);
		if (n == 0) {
			/* It is ending; reaped() hears how. */
			close(q->fd);
			q->fd = -1;
		}
	}
}

static struct jobsrc *
qs_open(const struct cfg *cfg, bool follow, char *err, size_t errlen)
{
	struct qsrc *q = xcalloc(1, sizeof(*q));

	q->cfg = cfg;
	q->service = follow;
	q->fd = -1;
	q->self_settles = strcmp(cfg->type, "sql") == 0;
	if (start_claimer(q) < 0) {
		snprintf(err, errlen, "cannot start the queue's claimer: %s", strerror(errno));
		free(q);
		return NULL;
	}
	/* A one-shot run learns now whether the queue can be reached: if not, nothing starts. */
	while (!follow && !q->ready && q->initfail == NULL && q->fd >= 0) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		if (poll(&p, 1, 1000) > 0)
			qs_ready(&q->base, p.revents);
	}
	if (!q->ready && !follow)
		q->failed = xstrdup(q->initfail != NULL ? q->initfail : "the queue's claimer ended at start");
	return &q->base;
}

static int
qs_next(struct jobsrc *s, struct jobline *jl)
{
	struct qsrc *q = QS(s);
	struct qnode *n = q->head;

	if (n == NULL)
		return q->empty && !q->service ? -1 : 0;
	q->head = n->next;
	if (q->head == NULL)
		q->tail = NULL;
	free(q->given);
	q->given = n;
	jl->seq = n->id;
	jl->attempt = n->attempt > 0 ? n->attempt - 1 : 0;
	jl->text = n->text;
	jl->len = n->len;
	jl->too_long = n->len > JOB_MAX_LEN;
	jl->has_nul = strlen(n->text) != n->len;
	return 1;
}

static int
qs_fd(const struct jobsrc *s, short *events)
{
	const struct qsrc *q = QS(s);

	*events = POLLIN | (buf_pending(&q->out) > 0 ? POLLOUT : 0);
	return q->fd;
}

static void
put(struct qsrc *q, uint32_t type, const void *fixed, size_t len, const char *tail, size_t taillen)
{
	msg_put(&q->out, type, fixed, len, tail, taillen);
	if (q->fd >= 0)
		msg_flush(q->fd, &q->out);
}

/*
 * Ask the claimer for jobs once the host is half empty, not for every
 * job that ends: claims of one job each would cost a transaction apiece.
 * Half of what it holds when full still keeps every worker busy.
 */
static void
qs_want(struct jobsrc *s, size_t n, size_t of)
{
	struct qsrc *q = QS(s);

	if (n < (of + 1) / 2)
		n = 0;
	struct msg_qwant w = { .want = n, .received = q->received };

	if (q->fd < 0 || !q->ready || (n == q->want_sent && (n == 0 || q->received == q->received_sent)))
		return;
	q->want_sent = n;
	q->received_sent = q->received;
	put(q, MSG_Q_WANT, &w, sizeof(w), NULL, 0);
}

static bool
qs_ended(struct jobsrc *s, uint64_t seq, unsigned attempt, enum jobsrc_end how, const char *why)
{
	struct qsrc *q = QS(s);
	struct msg_qtoken t = { .id = seq, .attempt = attempt + 1 };

	switch (how) {
	case JS_OK:
		if (!q->self_settles)
			put(q, MSG_Q_DONE, &t, sizeof(t), NULL, 0);
		return true;
	case JS_FENCED:
		log_warnx("job %" PRIu64 " attempt %u: its lease was lost before it finished (this host stopped,"
		    " or lost the database, for longer than [queue] lease): its work was rolled back, and the queue"
		    " has the job", seq, attempt + 1);
		return true;
	case JS_HOPELESS:
	case JS_FAILED:
		t.dead = how == JS_HOPELESS;
		put(q, MSG_Q_FAIL, &t, sizeof(t), why, strlen(why));
		return t.dead || attempt + 1 >= (unsigned)q->cfg->q_attempts;
	}
	return true;
}

static void
qs_unused(struct jobsrc *s, uint64_t seq, unsigned attempt)
{
	struct msg_qtoken t = { .id = seq, .attempt = attempt + 1 };

	put(QS(s), MSG_Q_RELEASE, &t, sizeof(t), NULL, 0);
}

static int
qs_reaped(struct jobsrc *s, pid_t pid, int status)
{
	struct qsrc *q = QS(s);

	if (pid != q->pid)
		return 0;
	q->pid = 0;
	if (q->fd >= 0) {
		qs_ready(s, POLLIN);
		if (q->fd >= 0)
			close(q->fd);
		q->fd = -1;
	}
	/* What it held is still ours in the table: its successor goes on heartbeating it. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == WEXIT_INIT) {
		free(q->failed);
		q->failed = xasprintf("the queue's database: %s", q->initfail ? q->initfail : "cannot be reached");
		return 1;
	}
	q->backoff = q->backoff == 0 ? RESTART_FIRST : q->backoff * 2 > RESTART_MAX ? RESTART_MAX : q->backoff * 2;
	log_warnx("queue: the claimer (pid %d) %s; starting another in %.1fs", (int)pid,
	    WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited", q->backoff);
	q->restart_at = now_mono() + q->backoff;
	return 1;
}

static double
qs_timer(struct jobsrc *s)
{
	struct qsrc *q = QS(s);

	if (q->restart_at > 0 && now_mono() >= q->restart_at) {
		q->restart_at = 0;
		if (start_claimer(q) < 0) {
			log_warn("queue: cannot start the claimer");
			q->restart_at = now_mono() + RESTART_MAX;
		}
	}
	return q->restart_at;
}

static void
qs_status(const struct jobsrc *s, char *out, size_t len)
{
	const struct qsrc *q = QS(s);
	const struct msg_qstate *st = &q->state;

	if (!q->have_state)
		snprintf(out, len, "%s", q->ready ? "" : "; queue: connecting");
	else
		snprintf(out, len, "; queue: %" PRId64 " ready, %" PRId64 " running, %" PRId64 " waiting, %" PRId64
		    " dead, oldest ready %.0fs", st->ready, st->running, st->waiting, st->dead, st->age);
}

static bool
qs_queue(const struct jobsrc *s, struct jobsrc_qstate *out)
{
	const struct qsrc *q = QS(s);

	*out = (struct jobsrc_qstate){
		.known = q->have_state,
		.ready = q->state.ready, .running = q->state.running,
		.waiting = q->state.waiting, .dead = q->state.dead,
		.oldest_ready = q->state.age,
		.reconnects = q->reconnects,
	};
	return true;
}

static const char *
qs_failed(const struct jobsrc *s)
{
	return QS(s)->failed;
}

static void
qs_close(struct jobsrc *s)
{
	struct qsrc *q = QS(s);
	double until = now_mono() + SETTLE_WAIT;

	/* Jobs claimed but never handed out go back. */
	while (q->head != NULL) {
		struct qnode *n = q->head;
		q->head = n->next;
		qs_unused(s, n->id, n->attempt > 0 ? n->attempt - 1 : 0);
		free(n);
	}
	/*
	 * No more jobs, and how many arrived: the claimer gives back those
	 * still on their way.  Then everything else, then that there is no
	 * more; it records it all and ends.
	 */
	struct msg_qwant w = { .want = 0, .received = q->received };
	if (q->fd >= 0)
		put(q, MSG_Q_WANT, &w, sizeof(w), NULL, 0);
	while (q->fd >= 0 && buf_pending(&q->out) > 0 && now_mono() < until) {
		struct pollfd p = { .fd = q->fd, .events = POLLOUT | POLLIN };
		if (poll(&p, 1, 100) > 0)
			qs_ready(s, p.revents);
	}
	if (q->fd >= 0)
		shutdown(q->fd, SHUT_WR);
	while (q->fd >= 0 && now_mono() < until) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			qs_ready(s, p.revents);
	}
	if (q->pid > 0) {
		int status;
		if (q->fd >= 0) {
			log_warnx("queue: the claimer did not finish recording outcomes in %.0fs; stopping it", SETTLE_WAIT);
			kill(q->pid, SIGKILL);
		}
		waitpid(q->pid, &status, 0);
	}
	if (q->fd >= 0)
		close(q->fd);
	/* What arrived after the last word: the claimer gave it back. */
	while (q->head != NULL) {
		struct qnode *n = q->head;
		q->head = n->next;
		free(n);
	}
	buf_free(&q->in);
	buf_free(&q->out);
	free(q->given);
	free(q->initfail);
	free(q->failed);
	free(q);
}

const struct jobsrc_ops jobsrc_queue = {
	.name = "queue",
	.open = qs_open,
	.next = qs_next,
	.fd = qs_fd,
	.ready = qs_ready,
	.want = qs_want,
	.ended = qs_ended,
	.unused = qs_unused,
	.reaped = qs_reaped,
	.timer = qs_timer,
	.status = qs_status,
	.queue = qs_queue,
	.failed = qs_failed,
	.close = qs_close,
};
