/*
 * The status socket ([status] socket): a unix stream socket, owner-only,
 * on which a running mpworker answers one request per connection, a line
 * of text:
 *
 *   status        the pool, every worker, the totals (text)
 *   status json   the same as one JSON object
 *   metrics       Prometheus text exposition
 *   config        the real path of the INI it runs (how a client finds
 *                 the service of an INI that names no socket)
 *   reload        reload the configuration, and answer once it is done:
 *                 "ok ..." or "failed: why"
 *
 * The supervisor's loop polls the socket with everything else and never
 * blocks on a client: a request longer than a line, or a client that
 * does not send one within a few seconds, or does not read its answer,
 * is dropped, and there are at most CTL_CLIENTS at a time.
 *
 * The client side (--status, --metrics, --reload) is ctl_request().
 */
#ifndef MPW_CTL_H
#define MPW_CTL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define CTL_CLIENTS	16

/* What the supervisor answers with: each fills out, or says why it cannot. */
struct ctl_ops {
	void (*status)(struct buf *out, bool json);
	void (*metrics)(struct buf *out);
	/* Start a reload: 0, or -1 with why (then it is answered at once). */
	int  (*reload)(char *why, size_t len);
};

/*
 * Listen at path (a stale socket there, that nobody answers on, is
 * replaced; a live one is an error) for the service running the INI
 * config (NULL: none).  0, or -1 with err.
 */
int  ctl_open(const char *path, const char *config, const struct ctl_ops *ops, char *err, size_t errlen);
/* Add the socket's descriptors to pfd (room for CTL_CLIENTS + 1); returns how many. */
size_t ctl_pollfds(struct pollfd *pfd);
/* One of them is ready. */
void ctl_event(const struct pollfd *p);
/* Drop clients that took too long. */
void ctl_tick(double now);
/* A reload asked for on the socket is over. */
void ctl_reload_done(bool ok, const char *what);
void ctl_close(void);

/*
 * The socket's path: [status] socket, or else, under systemd with a
 * RuntimeDirectory=, status.sock in it (the service's own, and its
 * ExecReload='s); or else, from an operator's shell, the socket among
 * the units' (/run/mpworker*\/status.sock) whose service runs the INI
 * config.  NULL when none.  The result lives until the next call.
 */
const char *ctl_path(const char *configured, const char *config);

/* Client: send request to the socket at path, copy the answer to stdout.  An exit status. */
int  ctl_request(const char *path, const char *request);

#endif
