/* gmime-min: the floor for one process per message, and the naive reference for memory: one
 * message from standard input to standard output through GMime's own streams, no conversion. */
#include <gmime/gmime.h>
#include <stdio.h>
#include <sys/stat.h>

int
main (int argc, char **argv)
{
	GMimeStream *in, *fd_out, *out;
	GMimeMessage *message;
	GMimeParser *parser;
	int status = 0;
	struct stat st;

	g_mime_init ();
	/* A file can be seeked, so GMime leaves part bodies in it; a pipe is read into memory. */
	if (fstat (0, &st) == 0 && S_ISREG (st.st_mode)) {
		in = g_mime_stream_fs_new (0);
		g_mime_stream_fs_set_owner (GMIME_STREAM_FS (in), FALSE);
	} else {
		in = g_mime_stream_pipe_new (0);
		g_mime_stream_pipe_set_owner (GMIME_STREAM_PIPE (in), FALSE);
	}
	parser = g_mime_parser_new_with_stream (in);
	g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message (parser, NULL);
	g_object_unref (parser);
	if (message == NULL) {
		fprintf (stderr, "gmime-min: not a message\n");
		g_object_unref (in);
		return 65;
	}
	/* A pipe stream, since flushing an fs stream calls fsync(), which fails on a pipe. */
	fd_out = g_mime_stream_pipe_new (1);
	g_mime_stream_pipe_set_owner (GMIME_STREAM_PIPE (fd_out), FALSE);
	out = g_mime_stream_buffer_new (fd_out, GMIME_STREAM_BUFFER_BLOCK_WRITE);
	if (g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, out) == -1 ||
	    g_mime_stream_flush (out) == -1) {
		fprintf (stderr, "gmime-min: write error\n");
		status = 74;
	}
	g_object_unref (out);
	g_object_unref (fd_out);
	g_object_unref (message);
	g_object_unref (in);
	g_mime_shutdown ();
	return status;
}
