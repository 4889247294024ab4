/* dlopen-guard.c: a host that loads a library with dlopen (RTLD_LOCAL), as a plugin host, ctypes
 * or CFFI do, for iconv_dlopen.py.
 *
 *   dlopen-guard LIBMIMEUTF8_SO FILE...    normalizes each FILE with mimeutf8_normalize_fd
 *   dlopen-guard --gmime LIBGMIME_SO FILE... parses each FILE with GMime alone (the control)
 *
 * It links neither library, so GMime's references to iconv_open bind as they would in such a
 * host; iconv_dlopen.py preloads tests/iconv-log.c to see every open. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*NormalizeFd) (const void *options, int in_fd, int out_fd, void **report_out,
			    void **error);

static int
normalize_all (void *lib, int n, char **files)
{
	NormalizeFd normalize = (NormalizeFd) dlsym (lib, "mimeutf8_normalize_fd");
	int devnull = open ("/dev/null", O_WRONLY), i;

	if (normalize == NULL || devnull < 0) {
		fprintf (stderr, "dlopen-guard: no mimeutf8_normalize_fd\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		int fd = open (files[i], O_RDONLY);
		int status;

		if (fd < 0) {
			perror (files[i]);
			return 1;
		}
		status = normalize (NULL, fd, devnull, NULL, NULL);
		close (fd);
		printf ("%s\t%d\n", files[i], status);
	}
	close (devnull);
	return 0;
}

static int
parse_all (void *lib, int n, char **files)
{
	void (*init) (void) = (void (*) (void)) dlsym (lib, "g_mime_init");
	void *(*stream_new) (int) = (void *(*) (int) ) dlsym (lib, "g_mime_stream_fs_new");
	void *(*parser_new) (void *) =
		(void *(*) (void *) ) dlsym (lib, "g_mime_parser_new_with_stream");
	void *(*construct) (void *, void *) =
		(void *(*) (void *, void *) ) dlsym (lib, "g_mime_parser_construct_message");
	void (*unref) (void *) = (void (*) (void *)) dlsym (lib, "g_object_unref");
	int i;

	if (!init || !stream_new || !parser_new || !construct || !unref) {
		fprintf (stderr, "dlopen-guard: GMime's functions are missing\n");
		return 1;
	}
	init ();
	for (i = 0; i < n; i++) {
		int fd = open (files[i], O_RDONLY);
		void *stream, *parser, *message;

		if (fd < 0) {
			perror (files[i]);
			return 1;
		}
		stream = stream_new (fd); /* it closes fd */
		parser = parser_new (stream);
		message = construct (parser, NULL);
		printf ("%s\t%s\n", files[i], message ? "parsed" : "no message");
		if (message)
			unref (message);
		unref (parser);
		unref (stream);
	}
	return 0;
}

int
main (int argc, char **argv)
{
	int gmime = argc > 1 && strcmp (argv[1], "--gmime") == 0;
	void *lib;

	if (argc < 3 + gmime) {
		fprintf (stderr, "usage: dlopen-guard [--gmime] LIBRARY FILE...\n");
		return 64;
	}
	lib = dlopen (argv[1 + gmime], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf (stderr, "dlopen-guard: %s\n", dlerror ());
		return 1;
	}
	/* RTLD_LOCAL: nothing of it is in the global scope, where symbol interposition happens */
	if (dlsym (RTLD_DEFAULT, gmime ? "g_mime_init" : "mimeutf8_normalize_fd") != NULL) {
		fprintf (stderr, "dlopen-guard: the library is in the global scope\n");
		return 1;
	}
	return gmime ? parse_all (lib, argc - 3, argv + 3)
		     : normalize_all (lib, argc - 2, argv + 2);
}
