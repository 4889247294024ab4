/* test-fixtures.h: reading fixture files in the unit tests, and comparing outputs with them. */
#ifndef MIMEUTF8_TEST_FIXTURES_H
#define MIMEUTF8_TEST_FIXTURES_H

static inline GByteArray *
read_file (const char *path)
{
	char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents (path, &data, &len, NULL))
		return NULL;
	return g_byte_array_new_take ((guint8 *) data, len);
}

static inline GByteArray *
read_fixture (const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename (FIXTURES_DIR, dir, name, NULL);
	GByteArray *data = read_file (path);

	if (data == NULL)
		fail_msg ("cannot read %s", path);
	return data;
}

static inline void
assert_bytes_equal (GByteArray *got, GByteArray *want, const char *name)
{
	if (got->len != want->len || memcmp (got->data, want->data, got->len) != 0) {
		print_error ("%s: output differs from the expected fixture\n--- got:\n%.*s\n", name,
			     (int) got->len, (const char *) got->data);
		fail ();
	}
}

#endif
