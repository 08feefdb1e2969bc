/* The worker's loop: see worker.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "util.h"
#include "worker.h"

/* One job waiting in the worker, as the parent sent it. */
struct wjob {
	struct wjob	*next;
	uint64_t	 seq;
	uint32_t	 attempt;
	uint32_t	 flags;
	uint64_t	 dev, ino;	/* with MJ_INTENT */
	size_t		 len;
	char		 text[];
};

struct worker {
	const struct wrk_args	*a;
	const struct job_kind	*kind;
	int			 sigfd;
	struct buf		 in;
	struct buf		 out;
	struct wjob		*head, *tail;
	bool			 eof;		/* the parent closed our pipe */
	bool			 draining;
	struct job_ctx		 ctx;
	off_t			 sent[3];	/* [output] line_buffer: how much of each scratch file went on */
};

static void __attribute__((noreturn))
wrk_exit(struct worker *w, int code)
{
	if (w->kind != NULL && w->kind->fini != NULL)
		w->kind->fini(&w->ctx);
	db_close(w->ctx.drv, w->ctx.db);
	close(w->ctx.out_fd);
	close(w->ctx.err_fd);
	close(w->sigfd);
	close(w->a->fd_in);
	close(w->a->fd_out);
	_exit(code);
}

static void
send_out(struct worker *w)
{
	if (buf_pending(&w->out) == 0)
		return;
	if (write_all(w->a->fd_out, buf_head(&w->out), buf_pending(&w->out)) < 0) {
		/* The parent is gone: nobody is left to take results. */
		wrk_exit(w, WEXIT_SYSTEM);
	}
	buf_reset(&w->out);
}

static void
drop_queue(struct worker *w)
{
	while (w->head != NULL) {
		struct wjob *j = w->head;
		w->head = j->next;
		free(j);
	}
	w->tail = NULL;
}

/* Take every whole message from the input buffer. */
static void
take_messages(struct worker *w)
{
	struct msg m;
	int r;

	while ((r = msg_get(&w->in, &m)) == 1) {
		switch (m.type) {
		case MSG_JOB: {
			if (w->draining)
				break;
			struct wjob *j = xmalloc(sizeof(*j) + m.taillen + 1);
			j->next = NULL;
			j->seq = m.u.job.seq;
			j->attempt = m.u.job.attempt;
			j->flags = m.u.job.flags;
			j->dev = m.u.job.dev;
			j->ino = m.u.job.ino;
			j->len = m.taillen;
			memcpy(j->text, m.tail, m.taillen);
			j->text[m.taillen] = '\0';
			if (w->tail != NULL)
				w->tail->next = j;
			else
				w->head = j;
			w->tail = j;
			break;
		}
		case MSG_DRAIN:
			w->draining = true;
			drop_queue(w);
			break;
		default:
			log_warnx("unexpected %s message from the parent", msg_type_name(m.type));
			wrk_exit(w, WEXIT_PROTO);
		}
	}
	if (r < 0) {
		log_warnx("malformed message from the parent");
		wrk_exit(w, WEXIT_PROTO);
	}
}

/* Between jobs, SIGTERM means exit now; SIGCHLD from a finished command means nothing. */
static void
check_signals(struct worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sigfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM)
			wrk_exit(w, WEXIT_TERM);
}

/* Read what the parent has sent; with wait, block until something comes. */
static void
read_parent(struct worker *w, bool wait)
{
	check_signals(w);
	if (wait) {
		struct pollfd pfd[2] = {
			{ .fd = w->a->fd_in, .events = POLLIN },
			{ .fd = w->sigfd, .events = POLLIN },
		};
		int timeout = w->kind->idle != NULL ? WRK_IDLE_CHECK * 1000 : -1;
		int r;
		while ((r = poll(pfd, 2, timeout)) < 0)
			if (errno != EINTR)
				wrk_exit(w, WEXIT_SYSTEM);
		if (r == 0) {
			w->kind->idle(&w->ctx);
			if (w->ctx.terminated)
				wrk_exit(w, WEXIT_TERM);
			return;
		}
		if (pfd[1].revents & POLLIN)
			check_signals(w);
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			return;
	}
	for (;;) {
		ssize_t n = msg_read(w->a->fd_in, &w->in);
		if (n > 0) {
			if (buf_pending(&w->in) < MSG_CHUNK)
				break;
			continue;
		}
		if (n == 0)
			w->eof = true;
		else if (errno != EAGAIN)
			wrk_exit(w, WEXIT_SYSTEM);
		break;
	}
	take_messages(w);
}

static void
report_spawn(struct job_ctx *ctx, pid_t pgid)
{
	struct worker *w = (struct worker *)((char *)ctx - offsetof(struct worker, ctx));
	struct msg_spawn sp = { .seq = ctx->seq, .pgid = (int32_t)pgid };

	msg_put(&w->out, MSG_SPAWN, &sp, sizeof(sp), NULL, 0);
	send_out(w);
}

static void
report_intent(struct job_ctx *ctx, uint64_t seq, uint64_t dev, uint64_t ino)
{
	struct worker *w = (struct worker *)((char *)ctx - offsetof(struct worker, ctx));
	struct msg_intent in = { .seq = seq, .dev = dev, .ino = ino };

	msg_put(&w->out, MSG_INTENT, &in, sizeof(in), NULL, 0);
	send_out(w);
}

static void
report_reconnected(struct job_ctx *ctx)
{
	struct worker *w = (struct worker *)((char *)ctx - offsetof(struct worker, ctx));

	msg_put(&w->out, MSG_RECONNECTED, NULL, 0, NULL, 0);
	send_out(w);
}

/* Queue bytes of a job's output as MSG_OUTPUT pieces, sending when much is queued. */
static void
put_output(struct worker *w, uint64_t seq, uint32_t stream, const char *data, size_t len)
{
	struct msg_output o = { .seq = seq, .stream = stream };

	for (size_t off = 0; off < len; off += MSG_CHUNK) {
		size_t n = len - off < MSG_CHUNK ? len - off : MSG_CHUNK;
		msg_put(&w->out, MSG_OUTPUT, &o, sizeof(o), data + off, n);
		if (buf_pending(&w->out) >= 4 * MSG_CHUNK)
			send_out(w);
	}
}

/*
 * Queue output as whole lines ([output] line_buffer, so that lines of
 * different jobs interleave only between lines), each after its job's
 * line and a tab with [output] tag.  A line longer than a message still
 * goes in pieces.
 */
static void
put_lines(struct worker *w, uint64_t seq, uint32_t stream, const char *tag, const char *data, size_t len)
{
	const struct cfg *cfg = w->a->cfg;
	struct buf b = { 0 };
	size_t start = 0;

	if (!cfg->tag && !cfg->line_buffer) {
		put_output(w, seq, stream, data, len);
		return;
	}
	while (start < len) {
		const char *nl = memchr(data + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - data) + 1 : len;
		size_t taglen = cfg->tag ? strlen(tag) + 1 : 0;
		if (b.len > 0 && b.len + taglen + (end - start) > MSG_CHUNK) {
			put_output(w, seq, stream, b.data, b.len);
			buf_reset(&b);
		}
		if (cfg->tag) {
			/* One line of tag: a newline in a job line (an SQL statement) is a space. */
			for (const char *t = tag; *t; t++)
				buf_add(&b, *t == '\n' || *t == '\r' ? " " : t, 1);
			buf_add(&b, "\t", 1);
		}
		buf_add(&b, data + start, end - start);
		start = end;
	}
	if (b.len > 0)
		put_output(w, seq, stream, b.data, b.len);
	buf_free(&b);
}

/*
 * Queue a job's result.  The tail is the reason, then a NUL and the
 * joblog's command when the kind gave one (detail), then a NUL and the
 * path a rename gave the file (target).
 */
static void
put_result(struct worker *w, uint64_t seq, const struct job_result *res, uint64_t receive,
    const struct buf *detail, const struct buf *target)
{
	struct msg_result r = {
		.seq = seq, .start = res->start, .runtime = res->runtime,
		.send = res->send, .receive = receive,
		.exitval = res->exitval, .signal = res->signal, .flags = res->flags,
		.latency = res->latency,
	};
	struct buf tail = { 0 };

	buf_addstr(&tail, res->reason);
	if (detail->len > 0 || target->len > 0) {
		buf_add(&tail, "", 1);
		buf_add(&tail, detail->data, detail->len);
	}
	if (target->len > 0) {
		buf_add(&tail, "", 1);
		buf_add(&tail, target->data, target->len);
	}
	msg_put(&w->out, MSG_RESULT, &r, sizeof(r), tail.data, tail.len);
	buf_free(&tail);
}

/*
 * Pass on what a command has written to a scratch file since last time:
 * with whole_lines, only up to its last newline.
 */
static void
pass_on(struct worker *w, uint32_t stream, int fd, bool whole_lines)
{
	char chunk[MSG_CHUNK];

	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), w->sent[stream]);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n;
		if (whole_lines) {
			const char *nl = memrchr(chunk, '\n', take);
			if (nl == NULL && take < sizeof(chunk))
				break;	/* a line still being written */
			if (nl != NULL)
				take = (size_t)(nl - chunk) + 1;
		}
		put_lines(w, w->ctx.seq, stream, w->ctx.text, chunk, take);
		w->sent[stream] += (off_t)take;
	}
}

/* [output] line_buffer: while a command runs, its whole lines so far. */
static void
tick(struct job_ctx *ctx)
{
	struct worker *w = (struct worker *)((char *)ctx - offsetof(struct worker, ctx));

	pass_on(w, 1, ctx->out_fd, true);
	pass_on(w, 2, ctx->err_fd, true);
	send_out(w);
}

/* Queue a command's output: in-process text first, then the scratch file.  Returns the bytes. */
static uint64_t
queue_output(struct worker *w, uint32_t stream, struct buf *mem, int fd)
{
	uint64_t total = mem->len;
	struct stat st;

	put_lines(w, w->ctx.seq, stream, w->ctx.text, mem->data, mem->len);
	buf_reset(mem);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		return total;
	total += (uint64_t)st.st_size;
	pass_on(w, stream, fd, false);
	w->sent[stream] = 0;
	/* The child shared this file's offset: rewind it as well as emptying it. */
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		log_warn("cannot empty the output scratch file");
	return total;
}

static void
run_one(struct worker *w, struct wjob *j)
{
	struct job_ctx *ctx = &w->ctx;
	char num[32];

	ctx->seq = j->seq;
	ctx->attempt = j->attempt;
	ctx->text = j->text;
	ctx->len = j->len;
	ctx->step = (j->flags & MJ_STEP) != 0;
	memset(&ctx->res, 0, sizeof(ctx->res));
	snprintf(num, sizeof(num), "%" PRIu64, j->seq);
	setenv("MPWORKER_SEQ", num, 1);
	if (queue_on(ctx->cfg)) {
		/* The job's id in the queue and which attempt this is: what makes a command idempotent. */
		setenv("MPW_JOB_ID", num, 1);
		snprintf(num, sizeof(num), "%u", j->attempt + 1);
		setenv("MPW_ATTEMPT", num, 1);
	}

	ctx->res.start = now_wall();
	double t0 = now_mono();
	w->kind->run(ctx);
	ctx->res.runtime = now_mono() - t0;

	uint64_t receive = queue_output(w, 1, &ctx->out, ctx->out_fd);
	queue_output(w, 2, &ctx->errout, ctx->err_fd);
	static const struct buf none;
	put_result(w, j->seq, &ctx->res, receive, &none, &none);
	send_out(w);
	if (ctx->leftovers) {
		/*
		 * What the job's leftover processes write from now on goes to
		 * files nobody reads, never into the next job's output.
		 */
		close(ctx->out_fd);
		close(ctx->err_fd);
		ctx->out_fd = scratch_fd();
		ctx->err_fd = scratch_fd();
		ctx->leftovers = false;
		if (ctx->out_fd < 0 || ctx->err_fd < 0) {
			log_warn("cannot create an output scratch file");
			wrk_exit(w, WEXIT_SYSTEM);
		}
	}
}

/*
 * Hand the kind as many queued jobs as it takes at once (a batch, a
 * pipeline), then report each.  Only jobs already here are taken: the
 * worker never waits for more to fill a group.
 */
static void
run_group(struct worker *w)
{
	static struct job_item *items;
	static struct wjob **held;
	static size_t cap;
	size_t max = w->kind->group_max(&w->ctx), n = 0;

	if (max > cap) {
		items = xrealloc(items, max * sizeof(*items));
		memset(items + cap, 0, (max - cap) * sizeof(*items));
		held = xrealloc(held, max * sizeof(*held));
		cap = max;
	}
	while (n < max && w->head != NULL) {
		struct wjob *j = w->head;
		/* A step goes alone. */
		if (n > 0 && ((j->flags | held[0]->flags) & MJ_STEP))
			break;
		w->head = j->next;
		held[n] = j;
		items[n].seq = j->seq;
		items[n].attempt = j->attempt;
		items[n].watched = (j->flags & MJ_WATCHED) != 0;
		items[n].has_intent = (j->flags & MJ_INTENT) != 0;
		items[n].intent_dev = j->dev;
		items[n].intent_ino = j->ino;
		items[n].step = (j->flags & MJ_STEP) != 0;
		items[n].text = j->text;
		items[n].len = j->len;
		items[n].arg = NULL;
		buf_reset(&items[n].out);
		buf_reset(&items[n].detail);
		buf_reset(&items[n].target);
		memset(&items[n].res, 0, sizeof(items[n].res));
		n++;
	}
	if (w->head == NULL)
		w->tail = NULL;
	log_debug("running %zu jobs as a group", n);
	if (n > 1) {
		/*
		 * The parent sizes its window by groups; with a job_timeout it
		 * also needs to know now, not with the results, that this
		 * group may take n times as long.
		 */
		struct msg_group g = { .seq = items[0].seq, .n = (uint32_t)n };
		msg_put(&w->out, MSG_GROUP, &g, sizeof(g), NULL, 0);
		if (w->a->cfg->job_timeout > 0)
			send_out(w);
	}
	w->kind->run_group(&w->ctx, items, n);
	for (size_t i = 0; i < n; i++) {
		put_lines(w, items[i].seq, 1, items[i].text, items[i].out.data, items[i].out.len);
		put_result(w, items[i].seq, &items[i].res, items[i].out.len, &items[i].detail, &items[i].target);
		free(held[i]);
	}
	send_out(w);
}


/*
 * Signals: SIGTERM and SIGCHLD are read from a signalfd (SIGTERM aborts
 * the job in hand); the keyboard's SIGINT, SIGHUP and SIGUSR1 are the
 * parent's business and are ignored here.
 */
static int
setup_signals(void)
{
	sigset_t set;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_SETMASK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void
wrk_main(const struct wrk_args *a)
{
	static struct worker w;
	char err[1024];
	char num[16];
	int devnull;

	w.a = a;
	snprintf(num, sizeof(num), "worker %d", a->slot);
	log_set_ident(xasprintf("mpworker[%s]", num));
	w.sigfd = setup_signals();
	if (w.sigfd < 0) {
		log_warn("signalfd");
		_exit(WEXIT_SYSTEM);
	}
	/* Die with the parent; it may have died before we got here. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != a->parent)
		_exit(WEXIT_TERM);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	fd_set_nonblock(a->fd_in);
	snprintf(num, sizeof(num), "%d", a->slot);
	setenv("MPWORKER_SLOT", num, 1);

	w.kind = job_kind_find(a->cfg->type);
	w.ctx.cfg = a->cfg;
	w.ctx.slot = a->slot;
	w.ctx.dry_run = a->dry_run;
	w.ctx.sigfd = w.sigfd;
	w.ctx.spawned = report_spawn;
	w.ctx.intent = report_intent;
	w.ctx.reconnected = report_reconnected;
	if (a->cfg->line_buffer)
		w.ctx.tick = tick;
	w.ctx.out_fd = scratch_fd();
	w.ctx.err_fd = scratch_fd();
	if (w.ctx.out_fd < 0 || w.ctx.err_fd < 0) {
		snprintf(err, sizeof(err), "cannot create an output scratch file: %s", strerror(errno));
		goto initfail;
	}
	if (db_open(a->cfg, &w.ctx.drv, &w.ctx.db, err, sizeof(err)) < 0)
		goto initfail;
	if (w.kind->init != NULL && w.kind->init(&w.ctx, err, sizeof(err)) < 0)
		goto initfail;
	msg_put(&w.out, MSG_READY, NULL, 0, NULL, 0);
	send_out(&w);

	for (;;) {
		/* Pick up what has arrived (a drain above all) before each job. */
		read_parent(&w, w.head == NULL && !w.eof);
		if (w.head == NULL) {
			if (w.eof || w.draining)
				wrk_exit(&w, WEXIT_OK);
			continue;
		}
		if (w.kind->run_group != NULL) {
			run_group(&w);
		} else {
			struct wjob *j = w.head;
			w.head = j->next;
			if (w.head == NULL)
				w.tail = NULL;
			run_one(&w, j);
			free(j);
		}
		if (w.ctx.terminated)
			wrk_exit(&w, WEXIT_TERM);
		if (w.ctx.res.flags & JR_TIMEOUT)
			wrk_exit(&w, WEXIT_TIMEOUT);
	}

initfail:
	msg_put(&w.out, MSG_INITFAIL, NULL, 0, err, strlen(err));
	send_out(&w);
	_exit(WEXIT_INIT);
}
