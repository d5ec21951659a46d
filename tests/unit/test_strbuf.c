#include <stdlib.h>

#include "core/strbuf.h"
#include "tests/unit/unit.h"

TEST(strbuf_grows_and_escapes)
{
	struct strbuf sb = {0};
	char *s;

	for (int i = 0; i < 1000; i++)
		strbuf_printf(&sb, "%d,", i);
	CHECK_INT(sb.len, 3890);
	strbuf_clear(&sb);
	strbuf_json_string(&sb, "a\"b\\c\n\x01");
	s = strbuf_take(&sb);
	CHECK_STR(s, "\"a\\\"b\\\\c\\n\\u0001\"");
	free(s);
	s = strbuf_take(&sb);
	CHECK_STR(s, "");
	free(s);
}
