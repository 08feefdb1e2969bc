/*
 * The database driver interface: a const table of function pointers per
 * driver, chosen by [database] driver, in the manner of Redis's
 * ConnectionType.  A worker opens its own connection after fork (never
 * inherited from the parent) and keeps it for its whole life.
 */
#ifndef MPW_DB_H
#define MPW_DB_H

#include <stddef.h>

struct cfg;
struct db_conn;		/* opaque: each driver defines its own */

struct db_driver {
	const char *name;
	/*
	 * Connect with the [database] keys.  Returns the connection, or NULL
	 * with the reason (never the password) in err.
	 */
	struct db_conn *(*connect)(const struct cfg *cfg, char *err, size_t errlen);
	/* Run one statement, discarding rows.  0, or -1 with the server's message. */
	int  (*exec)(struct db_conn *c, const char *sql, char *err, size_t errlen);
	void (*close)(struct db_conn *c);
};

/* The driver called name, or NULL when this build does not have it. */
const struct db_driver *db_driver_find(const char *name);
/* The names of the drivers built in, space-separated, for error messages. */
const char *db_driver_names(void);

/*
 * The init hook: connect with the configured driver, then run every
 * [database] init statement in order.  On success *conn is the connection
 * (NULL for driver = none) and 0 is returned; on failure -1, with which
 * step failed and why in err.
 */
int  db_open(const struct cfg *cfg, struct db_conn **conn, char *err, size_t errlen);
void db_close(const struct cfg *cfg, struct db_conn *conn);

#endif
