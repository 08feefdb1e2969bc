/* The table of job kinds: see job.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "job.h"

static const struct job_kind *const kinds[] = {
	&job_command,
	&job_sql,
	&job_rename,
};

const struct job_kind *
job_kind_find(const char *name)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

const char *
job_kind_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		size_t off = 0;
		for (size_t i = 0; i < MPW_ARRAY_LEN(kinds) && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    i ? " " : "", kinds[i]->name);
	}
	return names;
}
