/* test-plan.c: the plan for one text part, on parts parsed from memory as the walk parses them:
 * the declared label, and what the plan says of the body (convert, relabel, leave alone, the
 * transfer encoding it goes out in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "walk.h"
#include "test-skip.h"

/* A message parsed the way the walk parses it (the bytes borrowed by a GMimeStreamMem whose
 * parts' streams point back into them), with a walk over it. */
typedef struct {
	MimeUtf8Options options;
	Walk walk;
	GByteArray *raw;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;
	MimeUtf8Report *report;
} Parsed;

static void
parse (Parsed *p, const char *message, gboolean force_7bit)
{
	p->options = (MimeUtf8Options) MIMEUTF8_OPTIONS_INIT;
	p->options.force_7bit = force_7bit;
	p->report = _mimeutf8_report_new ();
	_mimeutf8_walk_init (&p->walk, &p->options, p->report, 0);
	p->raw = g_byte_array_new ();
	g_byte_array_append (p->raw, (const guint8 *) message, strlen (message));
	p->walk.raw = p->raw->data;
	p->walk.raw_len = p->raw->len;
	p->walk.raw_array = p->raw;
	p->walk.parsed = p->raw->data;
	p->stream = g_mime_stream_mem_new_with_byte_array (p->raw);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) p->stream, FALSE);
	p->parser = g_mime_parser_new_with_stream (p->stream);
	g_mime_parser_set_persist_stream (p->parser, TRUE);
	p->message = g_mime_parser_construct_message (p->parser, NULL);
	assert_non_null (p->message);
}

static GMimePart *
top_part (Parsed *p)
{
	GMimeObject *part = g_mime_message_get_mime_part (p->message);

	assert_true (GMIME_IS_PART (part));
	return GMIME_PART (part);
}

static void
parsed_clear (Parsed *p)
{
	g_object_unref (p->message);
	g_object_unref (p->parser);
	g_object_unref (p->stream);
	g_byte_array_unref (p->raw);
	_mimeutf8_walk_clear (&p->walk);
	mimeutf8_report_free (p->report);
}

static void
plan_clear (TextPlan *plan)
{
	if (plan->converted != NULL)
		g_byte_array_unref (plan->converted);
	if (plan->decoded_copy != NULL)
		g_byte_array_unref (plan->decoded_copy);
}

/* GMime's parameter, or, when GMime gave up on the parameters (a stray token before them), the
 * raw value read as the rewrite reads it. */
static void
test_plan__part_label (void **state)
{
	static const struct {
		const char *content_type;
		const char *label;
	} cases[] = {
		{ "text/plain; charset=koi8-r", "koi8-r" },
		{ "text/plain; charset=\"ISO-8859-2\"", "ISO-8859-2" },
		{ "text/html;iso-8859-1; charset=windows-1251", "windows-1251" },
		{ "text/plain", NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *message =
			g_strdup_printf ("Content-Type: %s\n\nx\n", cases[i].content_type);
		Parsed p;
		const char *label;

		parse (&p, message, FALSE);
		label = _mimeutf8_part_label (&p.walk, GMIME_OBJECT (top_part (&p)));
		if (cases[i].label == NULL)
			assert_null (label);
		else
			assert_string_equal (label, cases[i].label);
		parsed_clear (&p);
	}
}

static void
test_plan__text_part (void **state)
{
	static const struct {
		const char *message;
		gboolean force_7bit;
		gboolean change; /* what plan_text_part returns: the part is rewritten */
		MimeUtf8Action action;
		gboolean relabel;
		const char *encoding_out;
		const char *converted; /* the new body, NULL when it stays */
	} cases[] = {
		{ "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n", FALSE, TRUE,
		  MIMEUTF8_ACTION_CONVERTED, TRUE, "8bit", "caf\xc3\xa9\n" },
		{ "Content-Type: text/plain; charset=iso-8859-1\n"
		  "Content-Transfer-Encoding: base64\n\nY2Fm6Qo=\n",
		  FALSE, TRUE, MIMEUTF8_ACTION_CONVERTED, TRUE, "base64", "caf\xc3\xa9\n" },
		/* under force_7bit, whichever of quoted-printable and base64 is smaller */
		{ "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n", TRUE, TRUE,
		  MIMEUTF8_ACTION_CONVERTED, TRUE, "base64", "caf\xc3\xa9\n" },
		{ "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9 au lait et pain\n", TRUE,
		  TRUE, MIMEUTF8_ACTION_CONVERTED, TRUE, "quoted-printable",
		  "caf\xc3\xa9 au lait et pain\n" },
		/* already UTF-8: nothing to do, unless it must go out in 7 bits */
		{ "Content-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n", FALSE, FALSE,
		  MIMEUTF8_ACTION_ALREADY_UTF8, FALSE, NULL, NULL },
		{ "Content-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9 au lait et pain\n", TRUE,
		  TRUE, MIMEUTF8_ACTION_ALREADY_UTF8, FALSE, "quoted-printable", NULL },
		{ "Content-Type: text/plain; charset=iso-8859-1\n"
		  "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n`\nend\n",
		  FALSE, FALSE, MIMEUTF8_ACTION_LEFT_ALONE, FALSE, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		Parsed p;
		TextPlan plan = { 0 };
		MimeUtf8PartReport *record;
		gboolean change;

		parse (&p, cases[i].message, cases[i].force_7bit);
		record = _mimeutf8_report_add_part (p.report, "1", "text/plain", NULL);
		change = _mimeutf8_plan_text_part (&p.walk, top_part (&p), record, &plan);
		assert_int_equal (change, cases[i].change);
		assert_int_equal (record->action, cases[i].action);
		assert_int_equal (plan.relabel, cases[i].relabel);
		if (cases[i].encoding_out != NULL)
			assert_string_equal (_mimeutf8_encoding_name (plan.encoding_out),
					     cases[i].encoding_out);
		if (cases[i].converted == NULL) {
			assert_null (plan.converted);
		} else {
			assert_non_null (plan.converted);
			assert_int_equal (plan.converted->len, strlen (cases[i].converted));
			assert_memory_equal (plan.converted->data, cases[i].converted,
					     plan.converted->len);
		}
		plan_clear (&plan);
		parsed_clear (&p);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_plan__part_label),
		cmocka_unit_test (test_plan__text_part),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
