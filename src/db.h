/*
 * The database driver interface: a const table of function pointers per
 * driver, chosen by [database] driver, in the manner of Redis's
 * ConnectionType.  A worker opens its own connection after fork (never
 * inherited from the parent) and keeps it for its whole life.
 *
 * Rows come back as text: one line per row, columns separated by tabs,
 * NULL written \N, and tab, newline, carriage return and backslash inside
 * a value escaped as \t \n \r \\ (PostgreSQL's COPY text format), so a
 * row is always exactly one line.
 */
#ifndef MPW_DB_H
#define MPW_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cfg;
struct db_conn;		/* opaque: each driver defines its own */

/* Why a call failed: the server's message and code, and whether the connection is gone. */
struct db_err {
	char	msg[512];
	char	code[16];	/* SQLSTATE, or the client library's error number */
	bool	lost;		/* the connection is unusable: reconnect */
};

/*
 * The values of one parameterized job: its line's tab-separated fields,
 * each decoded from COPY text (\N alone is NULL).
 */
struct db_params {
	int		  n;
	const char	**v;		/* NUL-terminated, or NULL for SQL NULL */
	int		 *len;
	char		 *data;		/* what v points into */
};

/*
 * Split a job line into values.  0, or -1 with why in err (a lone
 * backslash at the end, a value that decodes to a NUL byte, too many
 * fields).  Free with db_params_free, either way.
 */
int  db_params_parse(struct db_params *p, const char *line, size_t len, char *err, size_t errlen);
void db_params_free(struct db_params *p);

/* The most values a statement takes (PostgreSQL's own limit). */
#define DB_PARAMS_MAX	65535

/*
 * The [sql] statement names its values $1 .. $N.  For a server that takes
 * only '?', write sql with each $N outside quotes and comments made '?',
 * and map[k] = N - 1 for the k-th '?'.  A statement already written with
 * '?' maps them in order.  With at, (*at)[k] is where the k-th '?' stands
 * in what was added to out.  Returns the number of '?', or -1 with why in
 * err (both forms mixed, $0); *map and *at are malloc'd.
 */
int  db_params_to_qmarks(const char *sql, struct buf *out, int **map, size_t **at, char *err, size_t errlen);

/* One statement of a group run by exec_many. */
struct db_stmt {
	const char	*sql;
	const struct db_params *params;	/* instead of sql: run the prepared [sql] statement */
	struct buf	*out;		/* rows go here */
	int		 status;	/* 0 done, -1 failed (err), 1 not run */
	struct db_err	 err;
	double		 done_at;	/* monotonic seconds when its result arrived */
};

/* One lookup of a group run by lookup_many. */
struct db_lookup {
	const char	*param;
	char		*value;		/* malloc'd, when status is 1 */
	int		 status;	/* 1 found, 0 no row or NULL, -1 failed (err), 2 not run */
	struct db_err	 err;
	double		 done_at;	/* monotonic seconds when its result arrived */
};

struct db_driver {
	const char *name;
	/* The statement that opens a batch's transaction. */
	const char *begin_sql;
	/*
	 * Connect with the [database] keys.  Returns the connection, or NULL
	 * with the reason (never the password) in err.
	 */
	struct db_conn *(*connect)(const struct cfg *cfg, const char *password, struct db_err *err);
	/*
	 * Run sql (it may hold several statements where the server allows
	 * it).  Rows of every result are appended to out, or dropped when out
	 * is NULL.  0, or -1 with err.
	 */
	int  (*exec)(struct db_conn *c, const char *sql, struct buf *out, struct db_err *err);
	/*
	 * Optional: run n statements in one round trip (pipelined), each
	 * exactly as exec would run it alone: its own implicit transaction
	 * when autocommit is on.  With in_tx they form one transaction
	 * between BEGIN and COMMIT, and the first failure leaves the rest not
	 * run and the transaction rolled back.  Returns 0 when every result
	 * came back (each statement says how it went), -1 when the connection
	 * failed (err).  Statements it cannot pipeline make it return 1,
	 * having run nothing.
	 */
	int  (*exec_many)(struct db_conn *c, struct db_stmt *stmts, size_t n, bool in_tx, struct db_err *err);
	/*
	 * Optional: several batches in one round trip, each per statements
	 * (the last maybe fewer) between BEGIN and COMMIT.  The transactions
	 * before the first that fails commit, their statements done; from the
	 * one that fails on nothing stands, and every statement from its first
	 * on is left "not run".  0 when the results came back, -1 when the
	 * connection failed (err), 1 when it cannot (having run nothing).
	 */
	int  (*exec_batches)(struct db_conn *c, struct db_stmt *stmts, size_t n, size_t per, struct db_err *err);
	/*
	 * Optional: prepare the [sql] statement (values $1 .. $N) for this
	 * connection, and say how many values it takes.  0, or -1.
	 */
	int  (*prepare_stmt)(struct db_conn *c, const char *sql, int *nparams, struct db_err *err);
	/* Run the prepared [sql] statement with p's values, as exec runs sql. */
	int  (*exec_prepared)(struct db_conn *c, const struct db_params *p, struct buf *out, struct db_err *err);
	/* Prepare the one-parameter lookup statement for this connection.  0, or -1. */
	int  (*prepare)(struct db_conn *c, const char *sql, struct db_err *err);
	/*
	 * Run the prepared lookup with param.  1 with *value (malloc'd, the
	 * first column of the first row), 0 when there is no row or it is
	 * NULL, -1 on error.
	 */
	int  (*lookup)(struct db_conn *c, const char *param, char **value, struct db_err *err);
	/*
	 * Optional: run the prepared lookup for n parameters in one round trip
	 * (pipelined), each as lookup would.  0 when every result came back
	 * (each says how it went), -1 when the connection failed (err); those
	 * whose result did not come are left "not run".
	 */
	int  (*lookup_many)(struct db_conn *c, struct db_lookup *l, size_t n, struct db_err *err);
	/*
	 * Optional (the queue): append s as a quoted string literal to out,
	 * escaped for the connection.
	 */
	void (*quote)(struct db_conn *c, struct buf *out, const char *s, size_t len);
	/*
	 * Optional: COPY ... FROM STDIN (sql) with data, rows in COPY text.
	 * 0, or -1 with err.
	 */
	int  (*copy_in)(struct db_conn *c, const char *sql, const char *data, size_t len, struct db_err *err);
	/*
	 * Optional: the descriptor to poll for notifications (LISTEN), and
	 * how many have come (read them off).  -1 when the connection failed.
	 */
	int  (*notify_fd)(struct db_conn *c);
	int  (*notifications)(struct db_conn *c);
	/* 0 when the connection answers.  NULL where there is no server to lose (SQLite). */
	int  (*ping)(struct db_conn *c);
	void (*close)(struct db_conn *c);
};

/* Whether this build has the driver called name (the parent asks; it loads none). */
bool db_driver_built(const char *name);
/*
 * Whether the module of driver name is where db_driver_load will look
 * (true for "none" and for drivers this build lacks: cfg says so).
 */
bool db_driver_installed(const char *name, char *err, size_t errlen);
/*
 * The driver called name, its module loaded on first use (in a worker).
 * NULL with the reason in err.
 */
const struct db_driver *db_driver_load(const char *name, char *err, size_t errlen);
/* The names of the drivers built in, space-separated, for error messages. */
const char *db_driver_names(void);

/*
 * The init hook: load the configured driver, connect, then run every
 * [database] init statement in order.  On success *drv is the driver,
 * *conn the connection (NULL for driver = none) and 0 is returned; on
 * failure -1, with which step failed and why in err.
 */
int  db_open(const struct cfg *cfg, const struct db_driver **drv, struct db_conn **conn,
	 char *err, size_t errlen);
void db_close(const struct db_driver *drv, struct db_conn *conn);

/*
 * Build a batch as one query string: begin, then each statement (its
 * trailing semicolons dropped) on a line of its own, then COMMIT.
 */
void db_batch_sql(struct buf *q, const char *begin, const struct db_stmt *st, size_t n);

/* Append one value to a row in the text format described above. */
void db_put_value(struct buf *out, const char *v, size_t len);

/* What each driver module exports. */
extern const struct db_driver mpw_driver;

#endif
