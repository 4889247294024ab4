/* gmime-bare: the floor for any GMime-based batch design. Each FILE is parsed and written back
 * to OUTDIR under its own base name with no conversion, the fast way: one read, a parse from a
 * memory stream that the message keeps (no copies of part bodies), one serialization into
 * memory, one write.  With --pin-gconv it first opens a converter for each common mail charset
 * and keeps it open: glibc unloads a gconv module when its last descriptor closes, and GMime's
 * parse opens and closes one for each encoded header, so without pinning the same modules are
 * loaded again and again. */
#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The modules behind the charsets mail uses most (the gen.py corpus among them). */
static const char *const pinned_charsets[] = {
	"ISO-8859-1",  "ISO-8859-2", "ISO-8859-5",  "ISO-8859-7", "ISO-8859-8", "ISO-8859-9",
	"ISO-8859-15", "CP1250",     "CP1251",      "CP1252",     "CP1253",     "CP1254",
	"CP1255",      "CP1256",     "CP1257",      "KOI8-R",     "KOI8-U",     "EUC-JP",
	"SHIFT_JIS",   "CP932",      "ISO-2022-JP", "EUC-KR",     "CP949",      "GB2312",
	"GBK",         "GB18030",    "BIG5",        "BIG5-HKSCS", "TIS-620",    "UTF-16",
};

/* The whole file in one buffer; NULL with errno set on failure. */
static GByteArray *
read_file (const char *path)
{
	GByteArray *data;
	struct stat st;
	ssize_t n = 0;
	int fd;

	if ((fd = open (path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat (fd, &st) == -1 || st.st_size >= G_MAXUINT) {
		close (fd);
		return NULL;
	}
	data = g_byte_array_sized_new ((guint) st.st_size);
	g_byte_array_set_size (data, (guint) st.st_size);
	data->len = 0;
	while (data->len < (guint) st.st_size) {
		n = read (fd, data->data + data->len, (guint) st.st_size - data->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		data->len += (guint) n;
	}
	close (fd);
	if (n == -1) {
		g_byte_array_unref (data);
		return NULL;
	}
	return data;
}

static gboolean
write_all (const char *path, const guint8 *buf, gsize len)
{
	gboolean ok = TRUE;
	int fd;

	if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		return FALSE;
	while (len > 0) {
		ssize_t n = write (fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			ok = FALSE;
			break;
		}
		buf += n;
		len -= (gsize) n;
	}
	return close (fd) == 0 && ok;
}

/* CRLF input must come out CRLF (GMime writes LF by default): follow the first line end. */
static gboolean
is_crlf (const GByteArray *data)
{
	const guint8 *nl = memchr (data->data, '\n', data->len);

	return nl != NULL && nl > data->data && nl[-1] == '\r';
}

static gboolean
copy_one (const char *path, const char *outdir, GMimeFormatOptions *unix_format,
	  GMimeFormatOptions *dos_format)
{
	GMimeMessage *message;
	GMimeParser *parser;
	GMimeStream *in, *out;
	GByteArray *data;
	gboolean ok;
	char *base, *outpath;

	if ((data = read_file (path)) == NULL) {
		fprintf (stderr, "gmime-bare: %s: %s\n", path, g_strerror (errno));
		return FALSE;
	}
	GMimeFormatOptions *format = is_crlf (data) ? dos_format : unix_format;
	in = g_mime_stream_mem_new_with_byte_array (data); /* takes the array */
	parser = g_mime_parser_new_with_stream (in);
	g_mime_parser_set_persist_stream (parser, TRUE);
	g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message (parser, NULL);
	g_object_unref (parser);
	if (message == NULL) {
		g_object_unref (in);
		fprintf (stderr, "gmime-bare: %s: not a message\n", path);
		return FALSE;
	}
	out = g_mime_stream_mem_new ();
	g_mime_object_write_to_stream (GMIME_OBJECT (message), format, out);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (out));
	base = g_path_get_basename (path);
	outpath = g_build_filename (outdir, base, NULL);
	ok = write_all (outpath, bytes->data, bytes->len);
	if (!ok)
		fprintf (stderr, "gmime-bare: %s: %s\n", outpath, g_strerror (errno));
	g_free (outpath);
	g_free (base);
	g_object_unref (out);
	g_object_unref (message);
	g_object_unref (in);
	return ok;
}

int
main (int argc, char **argv)
{
	GMimeFormatOptions *unix_format, *dos_format;
	gboolean pin = argc > 1 && strcmp (argv[1], "--pin-gconv") == 0;
	int status = 0;

	if (pin) {
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf (stderr, "usage: gmime-bare [--pin-gconv] OUTDIR FILE...\n");
		return 64;
	}
	if (g_mkdir_with_parents (argv[1], 0755) == -1) {
		fprintf (stderr, "gmime-bare: %s: %s\n", argv[1], g_strerror (errno));
		return 74;
	}
	g_mime_init ();
	/* left open until exit on purpose */
	for (gsize i = 0; pin && i < G_N_ELEMENTS (pinned_charsets); i++)
		(void) iconv_open ("UTF-8", pinned_charsets[i]);
	unix_format = g_mime_format_options_new ();
	dos_format = g_mime_format_options_new ();
	g_mime_format_options_set_newline_format (dos_format, GMIME_NEWLINE_FORMAT_DOS);
	for (int i = 2; i < argc; i++)
		if (!copy_one (argv[i], argv[1], unix_format, dos_format))
			status = 1;
	g_mime_format_options_free (unix_format);
	g_mime_format_options_free (dos_format);
	g_mime_shutdown ();
	return status;
}
