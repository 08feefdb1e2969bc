/* HTTP /metrics and /status: see http.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "http.h"
#include "log.h"
#include "util.h"

/* ADDRESS:PORT, or [ADDRESS]:PORT for IPv6, as a socket address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, char *why, size_t len)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || colon == listen)
		return snprintf(why, len, "'%s' is not ADDRESS:PORT (as 127.0.0.1:9187)", listen), -1;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return snprintf(why, len, "'%s': the port is not a number from 1 to 65535", listen), -1;
	const char *h = listen;
	hl = (size_t)(colon - listen);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return snprintf(why, len, "'%s': the address is too long", listen), -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return snprintf(why, len, "'%s': '%s' is not an IPv4 or IPv6 address", listen, host), -1;
}

int
http_check(const char *listen, char *why, size_t len)
{
	struct sockaddr_storage ss;

	if (!http_built())
		return snprintf(why, len, "this mpworker was built without libmicrohttpd"), -1;
	return parse_listen(listen, &ss, why, len);
}

#if HAVE_MICROHTTPD
#include <microhttpd.h>

#define HTTP_CLIENTS	16
#define HTTP_TIMEOUT	5	/* seconds */

static struct MHD_Daemon *daemon_;
static const struct ctl_ops *ops_;

int
http_built(void)
{
	return 1;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, struct buf *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_COPY);

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_len, void **req)
{
	struct buf body = { 0 };
	enum MHD_Result rc;

	(void)cls;
	(void)version;
	(void)upload;
	(void)req;
	if (*upload_len != 0)
		return MHD_NO;	/* a body with a GET: not ours to read */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		buf_printf(&body, "only GET and HEAD\n");
		rc = reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
	} else if (strcmp(url, "/metrics") == 0) {
		ops_->metrics(&body);
		rc = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
	} else if (strcmp(url, "/status") == 0) {
		ops_->status(&body, true);
		rc = reply(c, MHD_HTTP_OK, "application/json", &body);
	} else if (strcmp(url, "/") == 0) {
		buf_printf(&body, "mpworker: GET /metrics (Prometheus) or /status (JSON)\n");
		rc = reply(c, MHD_HTTP_OK, "text/plain", &body);
	} else {
		buf_printf(&body, "not found: GET /metrics or /status\n");
		rc = reply(c, MHD_HTTP_NOT_FOUND, "text/plain", &body);
	}
	buf_free(&body);
	return rc;
}

int
http_open(const char *listen, const struct ctl_ops *ops, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char why[256];

	if (parse_listen(listen, &ss, why, sizeof(why)) < 0)
		return snprintf(err, errlen, "[status] listen: %s", why), -1;
	unsigned flags = MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	errno = 0;
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CLIENTS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_END);
	if (daemon_ == NULL)
		return snprintf(err, errlen, "[status] listen %s: cannot serve there%s%s", listen,
		    errno ? ": " : "", errno ? strerror(errno) : ""), -1;
	ops_ = ops;
	log_info("serving GET /metrics and /status on http://%s/", listen);
	return 0;
}

size_t
http_pollfds(struct pollfd *pfd)
{
	const union MHD_DaemonInfo *i;

	if (daemon_ == NULL || (i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)) == NULL)
		return 0;
	pfd->fd = i->epoll_fd;
	pfd->events = POLLIN;
	pfd->revents = 0;
	return 1;
}

void
http_run(void)
{
	if (daemon_ != NULL)
		MHD_run(daemon_);
}

void
http_close(void)
{
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

#else	/* !HAVE_MICROHTTPD */

int
http_built(void)
{
	return 0;
}

int
http_open(const char *listen, const struct ctl_ops *ops, char *err, size_t errlen)
{
	(void)ops;
	return snprintf(err, errlen, "[status] listen %s: this mpworker was built without libmicrohttpd", listen), -1;
}

size_t http_pollfds(struct pollfd *pfd) { (void)pfd; return 0; }
void http_run(void) { }
void http_close(void) { }

#endif
