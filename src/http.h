/*
 * [status] listen = ADDRESS:PORT: GET /metrics (Prometheus text) and GET
 * /status (the status as JSON) over HTTP, served by libmicrohttpd from
 * the supervisor's own loop (no thread): its epoll descriptor is polled
 * with everything else, and MHD_run() does the work.  At most 16
 * connections, each given 5 seconds and 32 KiB; only GET and HEAD.
 */
#ifndef MPW_HTTP_H
#define MPW_HTTP_H

#include <poll.h>
#include <stddef.h>

struct ctl_ops;

/* Whether this build can serve HTTP (libmicrohttpd). */
int  http_built(void);
/* Check ADDRESS:PORT at load: 0, or -1 with why. */
int  http_check(const char *listen, char *why, size_t len);
/* Start listening.  0, or -1 with err. */
int  http_open(const char *listen, const struct ctl_ops *ops, char *err, size_t errlen);
/* Add the descriptor to poll to pfd; returns 0 or 1. */
size_t http_pollfds(struct pollfd *pfd);
/* Do what is due: called every turn of the loop. */
void http_run(void);
void http_close(void);

#endif
