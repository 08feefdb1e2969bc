/*
 * Shared by the libFuzzer harnesses: each feeds its input to one layer
 * that reads untrusted bytes and checks what that layer promises.  Built
 * and run by build-aux/fuzz ("make fuzz").
 */
#ifndef MPW_FUZZ_H
#define MPW_FUZZ_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A check that must hold: a failure is a crash the fuzzer reports. */
#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* The input as a file, for layers that read paths: /dev/fd/N of a memfd. */
static inline int
fuzz_file(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, pathlen, "/dev/fd/%d", fd);
	return fd;
}

#endif
