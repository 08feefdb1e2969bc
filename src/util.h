/*
 * Small helpers shared by every module: allocation that cannot fail
 * silently, a growable byte buffer, clocks and descriptor flags.
 */
#ifndef MPW_UTIL_H
#define MPW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MPW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is an impossible state for a supervisor: abort loudly. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable byte buffer.  "off" marks how much of the front has been
 * consumed (written out, or parsed), so queues drain without memmove on
 * every step.
 */
struct buf {
	char   *data;
	size_t  len;	/* bytes held, from data[0] */
	size_t  off;	/* bytes already consumed from the front */
	size_t  cap;
};

void   buf_reserve(struct buf *b, size_t extra);
void   buf_add(struct buf *b, const void *p, size_t n);
void   buf_addstr(struct buf *b, const char *s);
void   buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void   buf_consume(struct buf *b, size_t n);
/* Move unconsumed bytes to the front when that frees at least half the room. */
void   buf_compact(struct buf *b);
void   buf_reset(struct buf *b);
void   buf_free(struct buf *b);
static inline size_t buf_pending(const struct buf *b) { return b->len - b->off; }
/* The unconsumed bytes: NULL for a buffer that never held any. */
static inline char  *buf_head(const struct buf *b) { return b->data != NULL ? b->data + b->off : NULL; }

/* A set of strings: open addressing, the strings copied in. */
struct strset {
	char	**slot;
	size_t	  n, cap;
};

/* FNV-1a of a C string: what strset hashes with. */
uint64_t hash_str(const char *s);

/* Add s; returns false when it was there already. */
bool strset_add(struct strset *set, const char *s);
bool strset_has(const struct strset *set, const char *s);
/* Remove s; returns whether it was there. */
bool strset_take(struct strset *set, const char *s);
void strset_free(struct strset *set);

/* Seconds on the monotonic clock, and since the epoch. */
double now_mono(void);
double now_wall(void);

/*
 * A poll(2) timeout for a wait of the given seconds: rounded up, and at
 * most an hour (the caller looks at its clock again and waits on), since
 * a long job_timeout in milliseconds would overflow an int.
 */
int poll_ms(double seconds);

int fd_set_cloexec(int fd);
int fd_set_nonblock(int fd);
/* write(2) all of it, retrying on EINTR; -1 with errno on failure. */
int write_all(int fd, const void *p, size_t n);
/* An unlinked scratch file in TMPDIR (or /tmp), read-write, close-on-exec; -1 with errno. */
int scratch_fd(void);
/* n random hex digits and a NUL into out (getrandom).  0, or -1 with errno. */
int random_hex(char *out, size_t n);
/* A random number in [0, 1), for jitter: not for secrets. */
double random_fraction(void);

#endif
