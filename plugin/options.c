/* options.c: the engine options every front-end takes, parsed once for all of them, so that
 * mimeutf8 and mimeutf8-milter accept the same words with the same limits and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

void
options_usage_error (const char *program, const char *format, const char *value)
{
	fprintf (stderr, "%s: ", program);
	fprintf (stderr, format, value);
	fprintf (stderr, "\nTry '%s --help' for more information.\n", program);
	exit (64); /* EX_USAGE */
}

guint64
options_number (const char *program, const char *option, const char *value, guint64 max)
{
	guint64 n;

	if (!g_ascii_string_to_unsigned (value, 10, 1, max, &n, NULL))
		options_usage_error (program, "bad value for %s", option);
	return n;
}

gboolean
options_apply (const char *program, int c, const char *value, MimeUtf8Options *options,
	       const char **message_option_out)
{
	const char *message_option = NULL;

	switch (c) {
	case ENGINE_OPT_POLICY:
		if (strcmp (value, "lenient") == 0)
			options->policy = MIMEUTF8_POLICY_LENIENT;
		else if (strcmp (value, "declared") == 0)
			options->policy = MIMEUTF8_POLICY_DECLARED;
		else if (strcmp (value, "strict") == 0)
			options->policy = MIMEUTF8_POLICY_STRICT;
		else
			options_usage_error (program,
					     "unknown policy '%s' (lenient, declared or strict)",
					     value);
		break;
	case ENGINE_OPT_HEADERS:
		message_option = "--headers";
		if (strcmp (value, "encoded") == 0)
			options->headers = MIMEUTF8_HEADERS_ENCODED;
		else if (strcmp (value, "utf8") == 0)
			options->headers = MIMEUTF8_HEADERS_UTF8;
		else if (strcmp (value, "keep") == 0)
			options->headers = MIMEUTF8_HEADERS_KEEP;
		else
			options_usage_error (
				program, "unknown header mode '%s' (encoded, utf8 or keep)", value);
		break;
	case ENGINE_OPT_FALLBACK:
		if (mimeutf8_charset_canonical (value) == NULL)
			options_usage_error (program, "unknown charset '%s'", value);
		options->fallback_charset = value;
		break;
	case ENGINE_OPT_7BIT:
		message_option = "--7bit";
		options->force_7bit = TRUE;
		break;
	case ENGINE_OPT_SIGNED:
		message_option = "--convert-signed";
		options->convert_signed = TRUE;
		break;
	case ENGINE_OPT_MAX_SIZE:
		message_option = "--max-message-size";
		options->max_message_size =
			options_number (program, message_option, value, G_MAXUINT);
		break;
	case ENGINE_OPT_MAX_DEPTH:
		message_option = "--max-depth";
		options->max_depth =
			(unsigned int) options_number (program, message_option, value, 1000);
		break;
	case ENGINE_OPT_MAX_PARTS:
		message_option = "--max-parts";
		options->max_parts =
			(unsigned int) options_number (program, message_option, value, G_MAXINT);
		break;
	case ENGINE_OPT_MAX_HEADER:
		message_option = "--max-header-block";
		options->max_header_block =
			options_number (program, message_option, value, G_MAXUINT);
		break;
	case ENGINE_OPT_MAX_PARAMS:
		message_option = "--max-params";
		options->max_params =
			(unsigned int) options_number (program, message_option, value, G_MAXINT);
		break;
	case ENGINE_OPT_MAX_WORDS:
		message_option = "--max-encoded-words";
		options->max_encoded_words =
			(unsigned int) options_number (program, message_option, value, G_MAXINT);
		break;
	case ENGINE_OPT_TIMEOUT:
		message_option = "--timeout";
		options->timeout_ms =
			(unsigned int) options_number (program, message_option, value, 24 * 3600) *
			1000;
		break;
	default:
		return FALSE;
	}
	if (message_option != NULL && message_option_out != NULL)
		*message_option_out = message_option;
	return TRUE;
}
