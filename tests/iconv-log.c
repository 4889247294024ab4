/* iconv-log.c: an LD_PRELOAD shim that logs every iconv_open of a process, for
 * iconv_allowlist.py.  Built with MIMEUTF8_ICONV_LOG_TABLE it is instead a small program that
 * prints the iconv names of the label table (the library has no public call listing them).
 *
 * The shim appends "tocode<TAB>fromcode<TAB>ok|refused" to the file named by MIMEUTF8_ICONV_LOG,
 * one write per line (O_APPEND), so processes may share the file.  It calls the next iconv_open
 * in lookup order, glibc's (libmimeutf8 interposes nothing).  "ok" therefore means the open
 * really succeeded in that process.  Names are escaped
 * (bytes outside printable ASCII as \xNN) and cut to 256 bytes, with their full length noted. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#ifndef MIMEUTF8_ICONV_LOG_TABLE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdlib.h>
#include <unistd.h>

typedef iconv_t (*IconvOpenFunc) (const char *tocode, const char *fromcode);

#define NAME_MAX_LOGGED 256

/* Appends `name`, escaped, at `out`; returns the new end.  `out` has room for 4 bytes per input
 * byte logged plus the length note. */
static char *
append_name (char *out, const char *name)
{
	size_t len, i;

	if (name == NULL) {
		memcpy (out, "(null)", 6);
		return out + 6;
	}
	len = strlen (name);
	for (i = 0; i < len && i < NAME_MAX_LOGGED; i++) {
		unsigned char c = (unsigned char) name[i];

		if (c > 0x20 && c < 0x7f && c != '\\')
			*out++ = (char) c;
		else
			out += sprintf (out, "\\x%02x", c);
	}
	if (len > NAME_MAX_LOGGED)
		out += sprintf (out, "...(%zu bytes)", len);
	return out;
}

static void
log_open (const char *tocode, const char *fromcode, int ok)
{
	char line[2 * (4 * NAME_MAX_LOGGED + 64) + 16], *p = line;
	const char *path = getenv ("MIMEUTF8_ICONV_LOG");
	int fd, saved = errno;

	if (path == NULL || *path == '\0')
		return;
	p = append_name (p, tocode);
	*p++ = '\t';
	p = append_name (p, fromcode);
	p += sprintf (p, "\t%s\n", ok ? "ok" : "refused");
	fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write (fd, line, (size_t) (p - line)) < 0)
			(void) 0; /* a log that cannot be written is a test failure, seen by its reader */
		close (fd);
	}
	errno = saved;
}

iconv_t
iconv_open (const char *tocode, const char *fromcode)
{
	static IconvOpenFunc next;
	iconv_t cd;

	if (next == NULL)
		next = (IconvOpenFunc) dlsym (RTLD_NEXT, "iconv_open");
	if (next == NULL) {
		errno = EINVAL;
		return (iconv_t) -1;
	}
	cd = next (tocode, fromcode);
	log_open (tocode, fromcode, cd != (iconv_t) -1);
	return cd;
}

#else /* MIMEUTF8_ICONV_LOG_TABLE */

#include "mimeutf8-private.h"

int
main (void)
{
	const _MimeUtf8Charset *all;
	size_t n, i;

	all = _mimeutf8_charset_all (&n);
	for (i = 0; i < n; i++)
		printf ("%s\t%s\n", all[i].iconv_name, all[i].name);
	return 0;
}

#endif
