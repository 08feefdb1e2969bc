/* The claimer: see claimer.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cfg.h"
#include "claimer.h"
#include "db.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "util.h"
#include "worker.h"

/* How long a lost control connection is tried again in a one-shot run before the run gives up. */
#define RECONNECT_GIVE_UP	60.0
/* How often a service tells the parent the queue's counts, for its STATUS. */
#define STATE_EVERY		5.0
/* An idle MariaDB poll starts this soon, and doubles up to [queue] poll. */
#define IDLE_FIRST		0.05
/*
 * Completions wait up to this long, or until this many, to go in one
 * statement: one a job would cost the server a transaction per job.
 */
#define SETTLE_DELAY		0.02
#define SETTLE_BATCH		256
/* While the queue has nothing ready, claims as jobs end here come at most this often. */
#define CLAIM_SPACING		0.02
/* Rescues come every half lease, but at least this often. */
#define RESCUE_MAX_EVERY	5.0

struct fail {
	struct qtoken	 t;
	bool		 dead;
	char		*why;
};

struct claimer {
	const struct claimer_args *a;
	const struct cfg	*cfg;
	const struct db_driver	*drv;
	struct db_conn		*db;
	struct buf		 in, out;
	bool			 eof;		/* the parent closed the socket: settle and go */

	uint64_t		 want;		/* from the last MSG_Q_WANT */
	uint64_t		 received;	/* the jobs it says it has received, of all sent */
	/*
	 * The jobs sent that the parent has not said it received, oldest
	 * first (at most what it wanted): what is on its way counts against
	 * what it wants, and what is still on its way when it closes the
	 * socket is given back here, since it never saw it.
	 */
	struct qtoken		*transit;
	size_t			 ntransit, captransit;

	struct qtoken		*done, *rel;
	size_t			 ndone, nrel, capdone, caprel;
	double			 done_since;	/* when the oldest completion not yet recorded came */
	struct fail		*fails;
	size_t			 nfails, capfails;
	/*
	 * A claimer that replaces one that died first hears what the host
	 * holds (MSG_Q_HELD), and gives back the rest the host owns; it
	 * claims nothing before.
	 */
	struct qtoken		*held;
	size_t			 nheld, capheld;
	bool			 told;		/* the list is whole */
	bool			 reconciled;

	double			 next_claim;	/* 0: as soon as there is demand */
	double			 idle;		/* the wait after a claim that came back short */
	double			 next_heartbeat, next_rescue, next_state, next_connect;
	double			 lost_since;	/* when the connection was lost, 0 while up */
	double			 backoff;
	char			*said;		/* the last connection failure logged */
	bool			 empty_said;
};

static double
jitter(double d)
{
	return d * (0.75 + 0.5 * random_fraction());
}

static void
send_out(struct claimer *c)
{
	while (buf_pending(&c->out) > 0) {
		int r = msg_flush(c->a->fd, &c->out);
		if (r == 0)
			break;
		if (r < 0)
			_exit(WEXIT_OK);	/* the parent is gone */
		struct pollfd p = { .fd = c->a->fd, .events = POLLOUT };
		poll(&p, 1, 1000);
	}
	buf_compact(&c->out);
}

static void
push_token(struct qtoken **v, size_t *n, size_t *cap, const struct qtoken *t)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = *t;
}

static void
lost(struct claimer *c, const struct db_err *e)
{
	log_warnx("queue: the connection to the database was lost (%s); reconnecting", e->msg);
	db_close(c->drv, c->db);
	c->db = NULL;
	c->lost_since = now_mono();
	c->next_connect = now_mono();
	c->backoff = 0.1;
}

/* An error of a statement: the connection's loss, or one to log and pass over. */
static void
failed(struct claimer *c, const char *what, const struct db_err *e)
{
	if (e->lost)
		lost(c, e);
	else
		log_warnx("queue: %s: %s%s%s%s", what, e->msg, e->code[0] ? " (" : "", e->code, e->code[0] ? ")" : "");
}

/* Connect, check the tables and listen: 0, or -1 with why in err. */
static int
open_db(struct claimer *c, char *err, size_t errlen)
{
	struct db_err e = { 0 };
	struct buf q = { 0 };

	if (db_open(c->cfg, &c->drv, &c->db, err, errlen) < 0)
		return -1;
	queue_sql_probe(c->cfg, &q);
	if (c->drv->exec(c->db, q.data, NULL, &e) < 0) {
		snprintf(err, errlen, "the queue table %s (or %s_dead) is missing or not of mpworker's shape: %s;"
		    " mpworker --queue-init makes them", c->cfg->q_table, c->cfg->q_table, e.msg);
		goto fail;
	}
	buf_reset(&q);
	if (strcmp(c->drv->name, "mysql") == 0) {
		/* SKIP LOCKED claims in a short READ COMMITTED transaction. */
		buf_addstr(&q, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	} else {
		queue_sql_listen(c->cfg, &q);
	}
	if (c->drv->exec(c->db, q.data, NULL, &e) < 0) {
		snprintf(err, errlen, "%s: %s", q.data, e.msg);
		goto fail;
	}
	buf_free(&q);
	return 0;
fail:
	buf_free(&q);
	db_close(c->drv, c->db);
	c->db = NULL;
	return -1;
}

/* Try to (re)connect now.  Returns 0 when connected. */
static int
try_connect(struct claimer *c, bool first)
{
	char err[1024];

	if (open_db(c, err, sizeof(err)) == 0) {
		if (c->lost_since > 0) {
			log_info("queue: reconnected after %.1fs", now_mono() - c->lost_since);
			msg_put(&c->out, MSG_RECONNECTED, NULL, 0, NULL, 0);
		}
		c->lost_since = 0;
		free(c->said);
		c->said = NULL;
		c->next_claim = c->next_heartbeat = c->next_rescue = 0;
		return 0;
	}
	/* A one-shot run whose database is down at start stops at once, with the reason. */
	if ((first && !c->a->service && !c->a->restarted) ||
	    (!c->a->service && c->lost_since > 0 && now_mono() - c->lost_since > RECONNECT_GIVE_UP)) {
		msg_put(&c->out, MSG_INITFAIL, NULL, 0, err, strlen(err));
		send_out(c);
		_exit(WEXIT_INIT);
	}
	if (c->said == NULL || strcmp(c->said, err) != 0)
		log_warnx("queue: %s; trying again", err);
	free(c->said);
	c->said = xstrdup(err);
	if (c->lost_since == 0)
		c->lost_since = now_mono();
	c->backoff = c->backoff == 0 ? 0.5 : fmin(c->backoff * 2, 30);
	c->next_connect = now_mono() + jitter(c->backoff);
	return -1;
}

static void
parent_messages(struct claimer *c)
{
	struct msg m;
	int r;
	bool ended = false;

	for (;;) {
		ssize_t n = msg_read(c->a->fd, &c->in);
		if (n == 0)
			ended = true;
		if (n <= 0)
			break;
	}
	while ((r = msg_get(&c->in, &m)) == 1) {
		switch (m.type) {
		case MSG_Q_WANT:
			/*
			 * The host can take more than it asked for before: it
			 * finished jobs.  After a claim that came back short, look
			 * again soon, not at the next poll: a one-shot run's last
			 * jobs end here, and the queue may be empty now.
			 */
			if (m.u.qwant.want > c->want && c->next_claim > now_mono() + CLAIM_SPACING)
				c->next_claim = now_mono() + CLAIM_SPACING;
			c->want = m.u.qwant.want;
			if (m.u.qwant.received > c->received && m.u.qwant.received - c->received <= c->ntransit) {
				size_t got = (size_t)(m.u.qwant.received - c->received);
				memmove(c->transit, c->transit + got, (c->ntransit - got) * sizeof(*c->transit));
				c->ntransit -= got;
				c->received = m.u.qwant.received;
			}
			break;
		case MSG_Q_DONE:
			if (c->ndone == 0)
				c->done_since = now_mono();
			push_token(&c->done, &c->ndone, &c->capdone,
			    &(struct qtoken){ m.u.qtoken.id, m.u.qtoken.attempt });
			break;
		case MSG_Q_HELD:
			if (m.taillen != (size_t)m.u.qheld.n * sizeof(struct msg_qtoken)) {
				log_warnx("queue: a malformed list of held jobs from the parent; ending");
				_exit(WEXIT_PROTO);
			}
			for (uint32_t i = 0; i < m.u.qheld.n; i++) {
				struct msg_qtoken t;
				memcpy(&t, m.tail + i * sizeof(t), sizeof(t));
				push_token(&c->held, &c->nheld, &c->capheld, &(struct qtoken){ t.id, t.attempt });
			}
			if (m.u.qheld.last)
				c->told = true;
			break;
		case MSG_Q_RELEASE:
			push_token(&c->rel, &c->nrel, &c->caprel, &(struct qtoken){ m.u.qtoken.id, m.u.qtoken.attempt });
			break;
		case MSG_Q_FAIL:
			if (c->nfails == c->capfails) {
				c->capfails = c->capfails ? c->capfails * 2 : 64;
				c->fails = xrealloc(c->fails, c->capfails * sizeof(*c->fails));
			}
			c->fails[c->nfails++] = (struct fail){
				.t = { m.u.qtoken.id, m.u.qtoken.attempt }, .dead = m.u.qtoken.dead != 0,
				.why = xstrndup(m.tail, m.taillen),
			};
			break;
		default:
			log_warnx("queue: the parent sent a %s message; ending", msg_type_name(m.type));
			_exit(WEXIT_PROTO);
		}
	}
	if (r < 0) {
		log_warnx("queue: malformed message from the parent; ending");
		_exit(WEXIT_PROTO);
	}
	buf_compact(&c->in);
	if (ended && !c->eof) {
		/* Jobs the parent never received go back with the rest it gives back. */
		for (size_t i = 0; i < c->ntransit; i++)
			push_token(&c->rel, &c->nrel, &c->caprel, &c->transit[i]);
		c->ntransit = 0;
		c->eof = true;
	}
}

/* Tokens settled in statements of at most this many. */
#define SETTLE_CHUNK	1000

typedef long (*settle_fn)(const struct db_driver *, struct db_conn *, const struct cfg *,
    const struct qtoken *, size_t, struct db_err *);

/*
 * Record what fn does for t[0..*n), newest first, SETTLE_CHUNK at a time.
 * -1 when the connection was lost (what is left stays for later).
 */
static int
settle_tokens(struct claimer *c, const struct qtoken *t, size_t *n, settle_fn fn, const char *what)
{
	struct db_err e = { 0 };

	while (*n > 0) {
		size_t k = *n < SETTLE_CHUNK ? *n : SETTLE_CHUNK;
		long r = fn(c->drv, c->db, c->cfg, t + *n - k, k, &e);
		if (r < 0) {
			failed(c, what, &e);
			if (e.lost)
				return -1;	/* kept for after the reconnect */
		} else if ((size_t)r < k) {
			log_warnx("queue: %zu of %zu jobs (%s) were no longer this host's (their leases ran out):"
			    " the queue kept the newer attempt", k - (size_t)r, k, what);
		}
		*n -= k;
	}
	return 0;
}

/*
 * Completions and releases, batched; failures one by one.  Kept while the
 * connection is down.  Completions wait a moment for company (SETTLE_DELAY),
 * unless the parent is done with us.
 */
static void
settle(struct claimer *c)
{
	struct db_err e = { 0 };
	bool due = c->eof || c->ndone >= SETTLE_BATCH || now_mono() - c->done_since >= SETTLE_DELAY;

	if (due && settle_tokens(c, c->done, &c->ndone, queue_complete, "done here") < 0)
		return;
	if (settle_tokens(c, c->rel, &c->nrel, queue_release, "given back") < 0)
		return;
	while (c->db != NULL && c->nfails > 0) {
		struct fail *f = &c->fails[c->nfails - 1];
		bool dead = f->dead || f->t.attempt >= (uint32_t)c->cfg->q_attempts;
		double delay = dead ? 0 : queue_backoff(c->cfg, f->t.attempt);
		long r = queue_fail(c->drv, c->db, c->cfg, &f->t, f->why, delay, dead, &e);
		if (r < 0) {
			failed(c, "cannot record a failed attempt", &e);
			if (e.lost)
				return;		/* kept for after the reconnect */
		} else if (r == 0)
			log_warnx("queue: job %" PRIu64 " attempt %" PRIu32 " failed here, but the job was no longer this"
			    " host's (its lease ran out): the queue kept the newer attempt", f->t.id, f->t.attempt);
		else if (dead)
			log_warnx("queue: job %" PRIu64 " is dead after %" PRIu32 " attempt%s: %s", f->t.id, f->t.attempt,
			    f->t.attempt == 1 ? "" : "s", f->why);
		else
			log_info("queue: job %" PRIu64 " attempt %" PRIu32 " failed; again in %.1fs", f->t.id,
			    f->t.attempt, delay);
		free(f->why);
		c->nfails--;
	}
}

static void
send_state(struct claimer *c, bool empty)
{
	struct msg_qstate st = { .empty = empty };
	struct buf q = { 0 }, out = { 0 };
	struct db_err e = { 0 };

	queue_sql_counts(c->cfg, &q);
	if (c->drv->exec(c->db, q.data, &out, &e) < 0) {
		failed(c, "cannot count the queue's jobs", &e);
	} else if (out.len > 0) {
		char *p = out.data;
		st.ready = strtoll(p, &p, 10);
		st.running = strtoll(p, &p, 10);
		st.waiting = strtoll(p, &p, 10);
		st.dead = strtoll(p, &p, 10);
		st.age = strtod(p, NULL);
		msg_put(&c->out, MSG_Q_STATE, &st, sizeof(st), NULL, 0);
	}
	buf_free(&q);
	buf_free(&out);
}

/*
 * The claimer before this one died: every job the host owns in the table
 * but does not hold goes back.  Those are outcomes the old claimer had not
 * recorded (the job ran: its attempt counts) and jobs it had sent that
 * never arrived.
 */
static void
reconcile(struct claimer *c)
{
	struct db_err e = { 0 };
	long n = queue_disown(c->drv, c->db, c->cfg, c->held, c->nheld, &e);

	if (n < 0) {
		failed(c, "cannot give back the jobs the last claimer left", &e);
		return;
	}
	if (n > 0)
		log_warnx("queue: %ld job%s the last claimer left unrecorded %s back in the queue; they run again",
		    n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
	free(c->held);
	c->held = NULL;
	c->nheld = c->capheld = 0;
	c->reconciled = true;
}

static void
claim(struct claimer *c)
{
	uint64_t demand = c->want > c->ntransit ? c->want - c->ntransit : 0;
	size_t ask = demand < (uint64_t)c->cfg->q_batch ? (size_t)demand : (size_t)c->cfg->q_batch;
	struct qjob *jobs = NULL;
	struct db_err e = { 0 };
	double now = now_mono();

	if (ask == 0 || now < c->next_claim)
		return;
	long n = queue_claim(c->drv, c->db, c->cfg, c->cfg->q_lease, ask, &jobs, &e);
	if (n < 0) {
		failed(c, "cannot claim jobs", &e);
		c->next_claim = now + jitter(c->cfg->q_poll);
		return;
	}
	for (long i = 0; i < n; i++) {
		struct msg_qtoken t = { .id = jobs[i].t.id, .attempt = jobs[i].t.attempt };
		msg_put(&c->out, MSG_Q_JOB, &t, sizeof(t), jobs[i].text, jobs[i].len);
		push_token(&c->transit, &c->ntransit, &c->captransit, &jobs[i].t);
		free(jobs[i].text);
	}
	free(jobs);
	log_debug("queue: claimed %ld of the %zu asked for", n, ask);
	if ((size_t)n == ask) {
		c->idle = 0;
		c->next_claim = 0;
		c->empty_said = false;
		return;
	}
	/*
	 * Nothing more is ready: wait for a NOTIFY or the poll (jittered, so
	 * that hosts do not poll in step), backing off while idle where
	 * there is no NOTIFY.
	 */
	if (c->drv->notify_fd != NULL)
		c->idle = c->cfg->q_poll;
	else
		c->idle = c->idle == 0 ? IDLE_FIRST : fmin(c->idle * 2, c->cfg->q_poll);
	c->next_claim = now + jitter(c->idle);
	if (n > 0)
		return;
	/* Whether any job is left, and when the next one waiting to be tried again is due. */
	struct buf q = { 0 }, out = { 0 };
	queue_sql_exists(c->cfg, &q);
	if (c->drv->exec(c->db, q.data, &out, &e) < 0 || out.len == 0) {
		failed(c, "cannot look at the queue", &e);
	} else {
		char *p;
		long any = strtol(out.data, &p, 10);
		double due = *p == '\t' && p[1] != '\\' ? strtod(p + 1, NULL) : -1;
		if (due >= 0 && now + due < c->next_claim)
			c->next_claim = now + due + 0.005;
		if (any == 0 && !c->empty_said && !c->a->service)
			send_state(c, true);
		c->empty_said = any == 0;
	}
	buf_free(&q);
	buf_free(&out);
}

static void
timers(struct claimer *c)
{
	struct db_err e = { 0 };
	struct buf q = { 0 };
	double now = now_mono();

	if (c->db != NULL && now >= c->next_heartbeat) {
		queue_sql_heartbeat(c->cfg, c->cfg->q_lease, &q);
		if (c->drv->exec(c->db, q.data, NULL, &e) < 0)
			failed(c, "cannot extend the leases", &e);
		c->next_heartbeat = now + c->cfg->q_lease / 3;
	}
	if (c->db != NULL && now >= c->next_rescue) {
		long died = 0, back = queue_rescue(c->drv, c->db, c->cfg, &died, &e);
		if (back < 0)
			failed(c, "cannot rescue expired leases", &e);
		if (back > 0)
			log_warnx("queue: %ld job%s whose host stopped renewing its lease %s back in the queue",
			    back, back == 1 ? "" : "s", back == 1 ? "is" : "are");
		if (died > 0)
			log_warnx("queue: %ld job%s whose host stopped renewing its lease %s out of attempts: dead",
			    died, died == 1 ? "" : "s", died == 1 ? "is" : "are");
		c->next_rescue = now + jitter(fmin(c->cfg->q_lease / 2, RESCUE_MAX_EVERY));
	}
	if (c->db != NULL && c->a->service && now >= c->next_state) {
		send_state(c, false);
		c->next_state = now + STATE_EVERY;
	}
	buf_free(&q);
}

static int
poll_timeout(const struct claimer *c)
{
	double now = now_mono(), next = now + 1;

	if (c->db == NULL)
		return poll_ms(c->next_connect - now);
	if (c->ndone > 0)
		next = fmin(next, c->done_since + SETTLE_DELAY);
	next = fmin(next, c->next_heartbeat);
	next = fmin(next, c->next_rescue);
	if (c->want > c->ntransit)
		next = fmin(next, c->next_claim);
	if (c->a->service)
		next = fmin(next, c->next_state);
	return next <= now ? 0 : poll_ms(next - now);
}

void
claimer_main(const struct claimer_args *a)
{
	static struct claimer c;
	sigset_t none;

	c.a = a;
	c.cfg = a->cfg;
	c.reconciled = !a->restarted;
	log_set_ident(xstrdup("mpworker[queue]"));
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* The parent says when to go, by closing the socket; a terminal's ^C is its to handle. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		_exit(WEXIT_TERM);
	fd_set_nonblock(a->fd);

	while (try_connect(&c, true) < 0) {
		poll(NULL, 0, poll_ms(c.next_connect - now_mono()));
		parent_messages(&c);
		if (c.eof)
			_exit(WEXIT_OK);
	}
	msg_put(&c.out, MSG_READY, NULL, 0, NULL, 0);
	send_out(&c);

	for (;;) {
		parent_messages(&c);
		if (c.db == NULL && now_mono() >= c.next_connect)
			try_connect(&c, false);
		if (c.db != NULL)
			settle(&c);
		if (c.eof && c.ndone + c.nrel + c.nfails == 0)
			break;
		if (c.eof && c.db == NULL && !c.a->service && c.lost_since > 0 &&
		    now_mono() - c.lost_since > RECONNECT_GIVE_UP)
			break;
		if (c.db != NULL && !c.reconciled && c.told)
			reconcile(&c);
		if (c.db != NULL && !c.eof && c.reconciled)
			claim(&c);
		if (c.db != NULL && !c.eof)
			timers(&c);
		send_out(&c);

		struct pollfd p[2] = {
			{ .fd = a->fd, .events = POLLIN },
			{ .fd = c.db != NULL && c.drv->notify_fd != NULL ? c.drv->notify_fd(c.db) : -1, .events = POLLIN },
		};
		int r = poll(p, 2, c.eof ? poll_ms(c.next_connect - now_mono()) : poll_timeout(&c));
		if (r > 0 && p[1].fd >= 0 && p[1].revents != 0) {
			int n = c.drv->notifications(c.db);
			if (n > 0) {
				/* Jobs were enqueued: look now. */
				c.next_claim = 0;
				c.idle = 0;
			} else if (n < 0) {
				lost(&c, &(struct db_err){ .msg = "the connection closed" });
			}
		}
	}
	if (c.ndone + c.nrel + c.nfails > 0)
		log_warnx("queue: %zu outcomes could not be recorded (the database is gone); their leases run out"
		    " and the jobs run again", c.ndone + c.nrel + c.nfails);
	db_close(c.drv, c.db);
	_exit(WEXIT_OK);
}
