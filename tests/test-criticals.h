/* test-criticals.h: counts the messages GLib logs through its default handler (the critical of a
 * g_return_val_if_fail), for the tests of programming errors:
 *	GLogFunc old = g_log_set_default_handler (count_criticals, NULL);
 *	criticals = 0;  ...the calls...  g_log_set_default_handler (old, NULL);
 * then assert on `criticals`. */
#ifndef MIMEUTF8_TEST_CRITICALS_H
#define MIMEUTF8_TEST_CRITICALS_H

#include <glib.h>

static unsigned int criticals;

static void
count_criticals (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
	(void) domain;
	(void) level;
	(void) message;
	(void) data;
	criticals++;
}

#endif
