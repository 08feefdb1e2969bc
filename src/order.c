/*
 * [output] keep_order, as GNU parallel's -k.  The earliest job not yet out
 * writes straight through; a later job's output and joblog records wait in
 * a ring of ORDER_WINDOW entries until every earlier job is out.  Held
 * bytes stay in memory up to ORDER_MEM and go to an unlinked scratch file
 * past that.  dispatch starts no job beyond the window, so however long
 * one job runs, what waits behind it is bounded.
 *
 * A job's records go out with its output, after it: if its output cannot
 * be written, its records are not added either, so the joblog never says
 * done of a job whose output was lost, and --resume runs it again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "joblog.h"
#include "log.h"
#include "order.h"
#include "sup.h"
#include "util.h"

#define ORDER_MEM	(16u << 20)

enum { P_OUT = 1, P_ERR = 2, P_RECORD = 3 };

struct piece {
	int	 kind;
	size_t	 len;
	char	*data;		/* NULL when in the scratch file at off */
	off_t	 off;
};

struct entry {
	uint64_t	 seq;
	bool		 used, done;
	struct piece	*p;
	size_t		 n, cap;
};

static bool on;
static struct entry ring[ORDER_WINDOW];
static uint64_t next = 1;	/* the earliest job not yet out */
static size_t mem;		/* bytes held in memory */
static int spill = -1;
static off_t spill_end;
static off_t spilled;		/* bytes held in the scratch file, not yet out */
static bool out_broken;		/* a write failed: what follows is lost too */
static uint64_t lost;		/* records not added because their output was lost */

void
order_init(bool enable)
{
	on = enable;
}

bool
order_on(void)
{
	return on;
}

bool
order_admits(uint64_t seq)
{
	return !on || seq < next + ORDER_WINDOW;
}

static struct entry *
entry_of(uint64_t seq)
{
	struct entry *e = &ring[seq % ORDER_WINDOW];

	if (!e->used || e->seq != seq) {
		e->seq = seq;
		e->used = true;
		e->done = false;
		e->n = 0;
	}
	return e;
}

/* Hold bytes for an entry: in memory, or past ORDER_MEM in the scratch file. */
static void
hold(struct entry *e, int kind, const void *p, size_t n)
{
	struct piece pc = { .kind = kind, .len = n };

	if (mem + n > ORDER_MEM && spill < 0) {
		spill = scratch_fd();
		if (spill < 0)
			log_warn("keep_order: no scratch file; holding output in memory");
	}
	if (mem + n > ORDER_MEM && spill >= 0 && write_all(spill, p, n) == 0) {
		pc.off = spill_end;
		spill_end += (off_t)n;
		spilled += (off_t)n;
	} else {
		pc.data = xmalloc(n > 0 ? n : 1);
		memcpy(pc.data, p, n);
		mem += n;
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		e->p = xrealloc(e->p, e->cap * sizeof(*e->p));
	}
	e->p[e->n++] = pc;
}

/* A held piece's bytes, read back if need be (malloc'd; NULL on a read error). */
static char *
bytes_of(const struct piece *pc)
{
	char *b = xmalloc(pc->len > 0 ? pc->len : 1);

	if (pc->data != NULL) {
		memcpy(b, pc->data, pc->len);
	} else if (pread(spill, b, pc->len, pc->off) != (ssize_t)pc->len) {
		log_warn("keep_order: reading back held output");
		free(b);
		return NULL;
	}
	return b;
}

/* Write out what an entry holds, output then records; free it. */
static void
emit(struct entry *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct piece *pc = &e->p[i];
		char *b = bytes_of(pc);
		if (b == NULL) {
			out_broken = true;
		} else if (pc->kind == P_RECORD) {
			if (out_broken) {
				lost++;
			} else {
				struct joblog_entry je;
				memcpy(&je, b, sizeof(je));
				je.command = b + sizeof(je);
				if (sup.joblog != NULL)
					joblog_add(sup.joblog, &je);
			}
		} else if (!out_broken && sup_write_output(pc->kind == P_ERR ? 2 : 1, b, pc->len) != 0) {
			out_broken = true;
		}
		free(b);
		if (pc->data != NULL)
			mem -= pc->len;
		else
			spilled -= (off_t)pc->len;
		free(pc->data);
	}
	e->n = 0;
	e->used = false;
	/* Nothing held in the scratch file any more: it starts over. */
	if (spilled == 0 && spill_end > 0 && ftruncate(spill, 0) == 0)
		spill_end = 0;
}

int
order_output(uint64_t seq, int stream, const char *p, size_t n)
{
	struct entry *e = entry_of(seq);

	if (seq == next && e->n == 0)
		return sup_write_output(stream, p, n);
	hold(e, stream == 2 ? P_ERR : P_OUT, p, n);
	return 0;
}

bool
order_record(const struct joblog_entry *je)
{
	if (!on)
		return false;
	struct entry *e = entry_of(je->seq);
	if (je->seq == next && e->n == 0)
		return false;
	/* The entry and its command, one piece; emit points command back into it. */
	size_t len = sizeof(*je) + je->command_len;
	char *b = xmalloc(len);
	memcpy(b, je, sizeof(*je));
	memcpy(b + sizeof(*je), je->command, je->command_len);
	hold(e, P_RECORD, b, len);
	free(b);
	return true;
}

void
order_done(uint64_t seq)
{
	if (!on)
		return;
	entry_of(seq)->done = true;
	while (ring[next % ORDER_WINDOW].used && ring[next % ORDER_WINDOW].seq == next &&
	    ring[next % ORDER_WINDOW].done) {
		emit(&ring[next % ORDER_WINDOW]);
		next++;
	}
}

uint64_t
order_finish(void)
{
	if (!on)
		return 0;
	/* In order, what is left: jobs stopped before they finished hold output only. */
	for (size_t k = 0; k < ORDER_WINDOW; k++) {
		struct entry *e = &ring[(next + k) % ORDER_WINDOW];
		if (e->used && e->seq == next + k)
			emit(e);
	}
	for (size_t k = 0; k < ORDER_WINDOW; k++)
		free(ring[k].p);
	if (spill >= 0)
		close(spill);
	return lost;
}
