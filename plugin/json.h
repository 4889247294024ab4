/* json.h: the parsed view of a message (mimeutf8_parse) as one line of JSON: the format of
 * mimeutf8 --json, an interface whose keys are only ever added (README, "The parsed view"). */
#ifndef MIMEUTF8_JSON_H
#define MIMEUTF8_JSON_H

#include "mimeutf8.h"

/* The view as one JSON object, without a newline; `name` is the input's name, or NULL.  Free
 * with g_free. */
char *json_message (const MimeUtf8Message *message, const char *name);

#endif /* MIMEUTF8_JSON_H */
