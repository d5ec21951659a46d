#include <stdlib.h>

#include "core/control.h"
#include "core/version.h"
#include "core/wire.h"
#include "tests/unit/unit.h"

TEST(version_render_text_and_json)
{
	char want[256], *text = version_render(false), *json = version_render(true);

	CHECK(version_string()[0] != '\0');
	snprintf(want, sizeof(want), "dvipa %s\nwire protocol    %d\ncontrol protocol %d\n",
	         version_string(), WIRE_VERSION, CONTROL_VERSION);
	CHECK_STR(text, want);
	snprintf(want, sizeof(want),
	         "{\"version\": \"%s\", \"wire_protocol\": %d, \"control_protocol\": %d}\n",
	         version_string(), WIRE_VERSION, CONTROL_VERSION);
	CHECK_STR(json, want);
	free(text);
	free(json);
}

TEST(control_show_version_name)
{
	struct control_request req;

	control_request_init(&req, CONTROL_SHOW_VERSION, CONTROL_F_JSON);
	CHECK_INT(control_request_check(&req), 0);
	CHECK_STR(control_cmd_name(CONTROL_SHOW_VERSION), "show version");
}
