/* fuzz-normalize.c: libFuzzer target on a message: mimeutf8_normalize_buffer, its idempotence, its output
 * read back by GMime, and mimeutf8_normalize_message.
 * The checks are in harness.h, shared with tests/crashers.c. */
#include "harness.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
	mimeutf8_init ();
	harness_warm_up ();
	return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	harness_normalize (data, size);
	return 0;
}
