#include "core/ipaddr.h"
#include "tests/unit/unit.h"

TEST(ipaddr_parse_and_format)
{
	struct ipaddr a;
	char buf[IPADDR_PREFIX_STRLEN];

	CHECK_INT(ipaddr_parse("10.1.2.3", &a), 0);
	CHECK_INT(a.family, IPADDR_V4);
	CHECK_STR(ipaddr_format(&a, buf, sizeof(buf)), "10.1.2.3");
	CHECK_INT(ipaddr_parse("2001:db8::10", &a), 0);
	CHECK_INT(a.family, IPADDR_V6);
	CHECK_STR(ipaddr_format_prefix(&a, 64, buf, sizeof(buf)), "2001:db8::10/64");
	CHECK(ipaddr_parse("10.1", &a) < 0);
	CHECK(ipaddr_parse("10.1.2.300", &a) < 0);
	CHECK(ipaddr_parse("", &a) < 0);
	CHECK(ipaddr_parse("2001:db8:::1", &a) < 0);
}

TEST(ipaddr_masks)
{
	uint8_t len;
	char buf[IPADDR_STRLEN];

	CHECK_INT(ipaddr_parse_mask4("255.255.255.0", &len), 0);
	CHECK_INT(len, 24);
	CHECK_INT(ipaddr_parse_mask4("255.255.255.255", &len), 0);
	CHECK_INT(len, 32);
	CHECK_INT(ipaddr_parse_mask4("0.0.0.0", &len), 0);
	CHECK_INT(len, 0);
	CHECK(ipaddr_parse_mask4("255.0.255.0", &len) < 0);
	CHECK(ipaddr_parse_mask4("::", &len) < 0);
	CHECK_STR(ipaddr_format_mask4(20, buf, sizeof(buf)), "255.255.240.0");
}

TEST(ipaddr_prefixes)
{
	struct ipaddr a, b, c;

	ipaddr_parse("10.1.0.0", &a);
	ipaddr_parse("10.1.255.7", &b);
	ipaddr_parse("10.2.0.1", &c);
	CHECK(ipaddr_in_prefix(&b, &a, 16));
	CHECK(!ipaddr_in_prefix(&c, &a, 16));
	CHECK(ipaddr_prefixes_overlap(&a, 16, &b, 24));
	CHECK(!ipaddr_prefixes_overlap(&a, 16, &c, 24));
	CHECK(ipaddr_in_prefix(&c, &a, 0));
	ipaddr_parse("2001:db8::", &a);
	ipaddr_parse("2001:db8::1:5", &b);
	CHECK(ipaddr_in_prefix(&b, &a, 96));
	CHECK(!ipaddr_in_prefix(&b, &a, 127));
}
