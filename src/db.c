/*
 * The driver table and the init hook.  Drivers are compiled in only when
 * configure found their client library; "none" is always there, for
 * command jobs that need no database.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

static const struct db_driver db_none = {
	.name = "none",
};

static const struct db_driver *const drivers[] = {
	&db_none,
};

const struct db_driver *
db_driver_find(const char *name)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(drivers); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const char *
db_driver_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		size_t off = 0;
		for (size_t i = 0; i < MPW_ARRAY_LEN(drivers) && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    i ? " " : "", drivers[i]->name);
	}
	return names;
}

int
db_open(const struct cfg *cfg, struct db_conn **conn, char *err, size_t errlen)
{
	const struct db_driver *drv = db_driver_find(cfg->driver);
	char why[1024];

	*conn = NULL;
	if (drv == NULL || drv->connect == NULL)
		return 0;
	*conn = drv->connect(cfg, why, sizeof(why));
	if (*conn == NULL) {
		snprintf(err, errlen, "cannot connect (%s): %s", drv->name, why);
		return -1;
	}
	for (size_t i = 0; i < cfg->init.n; i++) {
		if (drv->exec(*conn, cfg->init.v[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "init statement %zu (%s) failed: %s",
			    i + 1, cfg->init.v[i], why);
			drv->close(*conn);
			*conn = NULL;
			return -1;
		}
	}
	return 0;
}

void
db_close(const struct cfg *cfg, struct db_conn *conn)
{
	const struct db_driver *drv = db_driver_find(cfg->driver);

	if (drv != NULL && drv->close != NULL && conn != NULL)
		drv->close(conn);
}
