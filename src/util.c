/* Helpers: see util.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void __attribute__((noreturn))
out_of_memory(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "mpworker: out of memory (%zu bytes)\n", n);

	if (len > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)len);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		out_of_memory(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		out_of_memory(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(0);
	buf_reserve(&b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n + 1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void
buf_compact(struct buf *b)
{
	if (b->off == 0 || b->off < b->cap / 2)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = b->off = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
fd_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int
fd_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

int
poll_ms(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds >= 3600)
		return 3600 * 1000;
	return (int)ceil(seconds * 1000);
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Put an owned string in a free slot; the table has room. */
static void
strset_place(struct strset *set, char *s)
{
	size_t mask = set->cap - 1, i = hash_str(s) & mask;

	while (set->slot[i] != NULL)
		i = (i + 1) & mask;
	set->slot[i] = s;
	set->n++;
}

static size_t
strset_find(const struct strset *set, const char *s)
{
	size_t mask = set->cap - 1, i = hash_str(s) & mask;

	while (set->slot[i] != NULL) {
		if (strcmp(set->slot[i], s) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return SIZE_MAX;
}

bool
strset_add(struct strset *set, const char *s)
{
	if (set->cap > 0 && strset_find(set, s) != SIZE_MAX)
		return false;
	if ((set->n + 1) * 2 > set->cap) {
		char **old = set->slot;
		size_t oldcap = set->cap;
		set->cap = oldcap ? oldcap * 2 : 64;
		set->slot = xcalloc(set->cap, sizeof(*set->slot));
		set->n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != NULL)
				strset_place(set, old[i]);
		free(old);
	}
	strset_place(set, xstrdup(s));
	return true;
}

int
scratch_fd(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char *path = xasprintf("%s/mpworker.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

int
random_hex(char *out, size_t n)
{
	unsigned char b[64];
	size_t need = (n + 1) / 2;

	if (need > sizeof(b) || getrandom(b, need, 0) != (ssize_t)need)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[(b[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = '\0';
	return 0;
}

double
random_fraction(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)rand();
	return (double)r / 4294967296.0;
}

bool
strset_has(const struct strset *set, const char *s)
{
	return set->n > 0 && strset_find(set, s) != SIZE_MAX;
}

bool
strset_take(struct strset *set, const char *s)
{
	size_t mask = set->cap - 1, i;

	if (set->n == 0 || (i = strset_find(set, s)) == SIZE_MAX)
		return false;
	free(set->slot[i]);
	set->slot[i] = NULL;
	set->n--;
	/* Place the rest of the cluster again, so that lookups still reach them. */
	for (size_t j = (i + 1) & mask; set->slot[j] != NULL; j = (j + 1) & mask) {
		char *p = set->slot[j];
		set->slot[j] = NULL;
		set->n--;
		strset_place(set, p);
	}
	return true;
}

void
strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	*set = (struct strset){ 0 };
}
