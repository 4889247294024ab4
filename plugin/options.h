/* options.h: the engine options every front-end takes (mimeutf8, mimeutf8-milter): one table of
 * long options, one parser filling a MimeUtf8Options, one wording of their errors. */
#ifndef MIMEUTF8_FRONT_OPTIONS_H
#define MIMEUTF8_FRONT_OPTIONS_H

#include <getopt.h>

#include "mimeutf8.h"

/* getopt_long values of the engine options, above those of any front-end's own options. */
enum {
	ENGINE_OPT_POLICY = 0x1000,
	ENGINE_OPT_FALLBACK,
	ENGINE_OPT_HEADERS,
	ENGINE_OPT_7BIT,
	ENGINE_OPT_SIGNED,
	ENGINE_OPT_MAX_SIZE,
	ENGINE_OPT_MAX_DEPTH,
	ENGINE_OPT_MAX_PARTS,
	ENGINE_OPT_MAX_HEADER,
	ENGINE_OPT_MAX_PARAMS,
	ENGINE_OPT_MAX_WORDS,
	ENGINE_OPT_TIMEOUT,
};

/* The engine's entries of a front-end's `struct option` table (before its { NULL } end). */
/* clang-format off */
#define ENGINE_LONG_OPTIONS                                                                         \
	{ "policy", required_argument, NULL, ENGINE_OPT_POLICY },                                   \
	{ "fallback-charset", required_argument, NULL, ENGINE_OPT_FALLBACK },                       \
	{ "headers", required_argument, NULL, ENGINE_OPT_HEADERS },                                 \
	{ "7bit", no_argument, NULL, ENGINE_OPT_7BIT },                                             \
	{ "convert-signed", no_argument, NULL, ENGINE_OPT_SIGNED },                                 \
	{ "max-message-size", required_argument, NULL, ENGINE_OPT_MAX_SIZE },                       \
	{ "max-depth", required_argument, NULL, ENGINE_OPT_MAX_DEPTH },                             \
	{ "max-parts", required_argument, NULL, ENGINE_OPT_MAX_PARTS },                             \
	{ "max-header-block", required_argument, NULL, ENGINE_OPT_MAX_HEADER },                     \
	{ "max-params", required_argument, NULL, ENGINE_OPT_MAX_PARAMS },                           \
	{ "max-encoded-words", required_argument, NULL, ENGINE_OPT_MAX_WORDS },                     \
	{ "timeout", required_argument, NULL, ENGINE_OPT_TIMEOUT }
/* clang-format on */

/* Says "PROGRAM: " `format` (with `value`) and the way to --help on stderr, and exits with
 * EX_USAGE (64). */
G_NORETURN void options_usage_error (const char *program, const char *format, const char *value);

/* `value` as a number from 1 to `max`, or a usage error naming `option`. */
guint64 options_number (const char *program, const char *option, const char *value, guint64 max);

/* Applies engine option `c` (a getopt_long value) with argument `value` to `options`; a bad
 * value is a usage error.  FALSE when `c` is not an engine option.  `*message_option_out` is set
 * to the option's name when only messages take it (all but --policy and --fallback-charset),
 * else left as it is; it may be NULL. */
gboolean options_apply (const char *program, int c, const char *value, MimeUtf8Options *options,
			const char **message_option_out);

#endif /* MIMEUTF8_FRONT_OPTIONS_H */
