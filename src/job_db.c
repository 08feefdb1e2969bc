/*
 * What the database job kinds share: getting a lost connection back.
 */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "db.h"
#include "job.h"
#include "log.h"
#include "util.h"

#define RECONNECT_FIRST	0.1
#define RECONNECT_MAX	5.0
/* How long a worker keeps trying to reconnect before it gives up. */
#define RECONNECT_FOR	60.0

/* Sleep, unless SIGTERM comes first.  Returns -1 on SIGTERM. */
static int
pause_for(struct job_ctx *ctx, double secs)
{
	struct pollfd pfd = { .fd = ctx->sigfd, .events = POLLIN };
	double until = now_mono() + secs;

	for (;;) {
		double left = until - now_mono();
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0) {
			struct signalfd_siginfo si;
			while (read(ctx->sigfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM) {
					ctx->terminated = true;
					return -1;
				}
		}
	}
}

/*
 * The connection is gone: open a new one and run the init hook again,
 * with backoff.  0 once connected; -1 when it could not within
 * RECONNECT_FOR seconds, or SIGTERM came.
 */
int
job_db_reconnect(struct job_ctx *ctx, const struct db_err *why)
{
	double delay = RECONNECT_FIRST, give_up = now_mono() + RECONNECT_FOR;
	char err[1024];

	log_warnx("connection lost (%s); reconnecting", why->msg);
	db_close(ctx->drv, ctx->db);
	ctx->db = NULL;
	for (;;) {
		if (pause_for(ctx, delay) < 0)
			return -1;
		if (db_open(ctx->cfg, &ctx->drv, &ctx->db, err, sizeof(err)) == 0) {
			log_warnx("reconnected");
			if (ctx->reconnected != NULL)
				ctx->reconnected(ctx);
			return 0;
		}
		if (now_mono() >= give_up) {
			log_warnx("giving up reconnecting: %s", err);
			return -1;
		}
		delay = delay * 2 > RECONNECT_MAX ? RECONNECT_MAX : delay * 2;
	}
}

