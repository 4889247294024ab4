/* crashers.c: replays every input in fixtures/crashers/ through the library, with the checks of
 * the fuzz targets (tests/fuzz/harness.h): each must neither crash nor hang, and must keep the
 * library's promises.  The file name's prefix says which checks: "convert-" the converter,
 * "headers-" the header normalizer, "view-" the parsed view (mimeutf8_parse), anything else
 * ("normalize-" by convention) the message normalizer.  An empty folder passes, saying it replayed 0 inputs. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "fuzz/harness.h"

/* Seconds one input may take, all its checks included (MIMEUTF8_CRASHERS_SECONDS). */
#define DEFAULT_SECONDS 5

static const char *current;

static void
on_alarm (int signo)
{
	static const char message[] = "crashers: this input took too long (a hang): ";

	(void) signo;
	(void) !write (STDERR_FILENO, message, sizeof message - 1);
	(void) !write (STDERR_FILENO, current, strlen (current));
	(void) !write (STDERR_FILENO, "\n", 1);
	_exit (1);
}

static unsigned int
seconds_allowed (void)
{
	const char *env = g_getenv ("MIMEUTF8_CRASHERS_SECONDS");
	unsigned int n = env != NULL ? (unsigned int) g_ascii_strtoull (env, NULL, 10) : 0;

	return n > 0 ? n : DEFAULT_SECONDS;
}

static void
test_crashers__replay (void **state)
{
	const char *path = *state;
	g_autofree char *base = g_path_get_basename (path);
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *error = NULL;
	gint64 start;

	assert_true (g_file_get_contents (path, &data, &len, &error));
	current = path;
	start = g_get_monotonic_time ();
	alarm (seconds_allowed ());
	if (g_str_has_prefix (base, "convert-")) {
		harness_convert ((const uint8_t *) data, len);
	} else if (g_str_has_prefix (base, "view-")) {
		harness_view_input ((const uint8_t *) data, len);
	} else if (g_str_has_prefix (base, "headers-")) {
		if (_mimeutf8_header_normalize == NULL)
			fail_msg ("%s: _mimeutf8_header_normalize is not in the library: not replayed",
				  base);
		harness_headers ((const uint8_t *) data, len);
	} else {
		harness_normalize ((const uint8_t *) data, len);
	}
	alarm (0);
	print_message ("%s: %zu bytes, %.2f s\n", base, (size_t) len,
		       (g_get_monotonic_time () - start) / 1e6);
}

static int
compare_names (const void *a, const void *b)
{
	return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (void)
{
	const char *dir = FIXTURES_DIR "/crashers";
	g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GArray) tests = g_array_new (FALSE, TRUE, sizeof (struct CMUnitTest));
	DIR *d = opendir (dir);
	struct dirent *entry;
	int failed;

	mimeutf8_init ();
	signal (SIGALRM, on_alarm);
	while (d != NULL && (entry = readdir (d)) != NULL) {
		if (entry->d_name[0] == '.' || g_str_has_prefix (entry->d_name, "README"))
			continue;
		g_ptr_array_add (paths, g_build_filename (dir, entry->d_name, NULL));
	}
	if (d != NULL)
		closedir (d);
	qsort (paths->pdata, paths->len, sizeof (char *), compare_names);
	for (guint i = 0; i < paths->len; i++) {
		struct CMUnitTest test = cmocka_unit_test_prestate (test_crashers__replay,
								    g_ptr_array_index (paths, i));

		test.name = g_ptr_array_index (paths, i);
		g_array_append_val (tests, test);
	}
	failed = _cmocka_run_group_tests ("crashers", (const struct CMUnitTest *) tests->data,
					  tests->len, NULL, NULL);
	printf ("crashers: replayed %u inputs from %s, %d failed\n", paths->len, dir, failed);
	return failed != 0;
}
