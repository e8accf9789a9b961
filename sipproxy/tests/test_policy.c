/* test_policy: the relay policy (policy.c) and its settings (trusted_peers,
 * a route's allow_from), each decision from a config loaded like a real one.
 *
 * The config: realms inside 10.1.0.0/24 and outside (everything else),
 * domain edge.test, trusted peer 10.20.0.2, routes b.example.net (allow
 * the inside realm and 192.0.2.0/24) and c.example.net (no allow_from).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "../policy.h"
#include "../sp_conf.h"

#define CONF                                                                                       \
	"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"                     \
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"                             \
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; },\n"                            \
	"  { address = \"203.0.113.1\"; realm = \"outside\"; } );\n"                               \
	"domains = [ \"edge.test\" ];\n"                                                            \
	"trusted_peers = [ \"10.20.0.2/32\" ];\n"                                                   \
	"routes = ( { domain = \"b.example.net\"; next_hop = \"10.20.0.2:5060\";\n"                \
	"             allow_from = [ \"inside\", \"192.0.2.0/24\" ]; },\n"                          \
	"           { domain = \"c.example.net\"; next_hop = \"10.20.0.3\"; } );\n"

static struct sp_conf conf;
static char errbuf[8192];

static int load(const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(f);
	rc = sp_conf_load_string(text, "t", &conf, f);
	fclose(f);
	snprintf(errbuf, sizeof(errbuf), "%s", buf ? buf : "");
	free(buf);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	if (load(CONF) != 0) {
		fprintf(stderr, "%s", errbuf);
		return -1;
	}
	return 0;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* A request from src (realm by the config) with nothing else known. */
static struct policy_req from(const char *src)
{
	struct policy_req r;

	memset(&r, 0, sizeof(r));
	r.src_be = ip(src);
	r.src_realm = sp_conf_realm_of(&conf, r.src_be);
	return r;
}

static void test_conf_loaded(void **state)
{
	(void)state;
	assert_int_equal(conf.ntrusted_peers, 1);
	assert_int_equal(conf.nroutes, 2);
	assert_int_equal(conf.routes[0].allow_realms, 1u << sp_conf_realm_index(&conf, "inside"));
	assert_int_equal(conf.routes[0].nallow_prefixes, 1);
	assert_int_equal(conf.routes[1].allow_realms, 0);
	assert_int_equal(conf.routes[1].nallow_prefixes, 0);
}

static void test_conf_defaults_and_errors(void **state)
{
	(void)state;
	/* no trusted_peers, no allow_from: nobody is trusted */
	assert_int_equal(load("realms = ( { name = \"a\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
			      "listen = ( { address = \"192.0.2.1\"; realm = \"a\"; } );\n"
			      "routes = ( { domain = \"x.test\"; next_hop = \"192.0.2.9\"; } );\n"),
			 0);
	assert_int_equal(conf.ntrusted_peers, 0);
	assert_int_equal(conf.routes[0].allow_realms, 0);
	assert_int_equal(conf.routes[0].nallow_prefixes, 0);
	/* an unknown realm, a bad prefix, a word that is neither, a duplicate */
	assert_int_equal(load("realms = ( { name = \"a\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
			      "listen = ( { address = \"192.0.2.1\"; realm = \"a\"; } );\n"
			      "trusted_peers = [ \"10.0.0.1/8\" ];\n"
			      "routes = ( { domain = \"x.test\"; next_hop = \"192.0.2.9\";\n"
			      "  allow_from = [ \"nowhere\", \"10.0.0.1/8\", \"a b\", \"a\", \"a\" ]; } );\n"),
			 -1);
	assert_non_null(strstr(errbuf, "t:3: trusted_peers[0]: \"10.0.0.1/8\" has host bits set"));
	assert_non_null(strstr(errbuf, "allow_from[1]: \"10.0.0.1/8\" has host bits set"));
	assert_non_null(strstr(errbuf, "allow_from[2]: \"a b\" is neither a realm name nor a prefix"));
	assert_non_null(strstr(errbuf, "no realm named \"nowhere\""));
	assert_non_null(strstr(errbuf, "\"a\" is listed twice"));
	assert_int_equal(load(CONF), 0);
}

/* The first finding: an outsider's INVITE to its own numeric
 * address, unauthenticated: no rule admits it. */
static void test_numeric_ruri_refused(void **state)
{
	struct policy_req r = from("203.0.113.10");

	(void)state;
	r.route = sp_conf_route(&conf, "203.0.113.10");
	assert_null(r.route);
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	/* and from inside towards an outside numeric host */
	r = from("10.1.0.66");
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
}

static void test_authenticated(void **state)
{
	struct policy_req r = from("10.1.0.10");

	(void)state;
	r.auth_user = "";
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	r.auth_user = "phb@edge.test";
	assert_int_equal(policy_decide(&conf, &r), POLICY_AUTH_USER);
	/* with a Route of its choosing too: it is our user */
	r.foreign_route = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_AUTH_USER);
	r.is_register = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_AUTH_USER);
}

static void test_incoming_call(void **state)
{
	struct policy_req r = from("203.0.113.10");

	(void)state;
	r.to_local = true;
	r.target_registered = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_INCOMING);
	/* not registered: refused (403, not 404: no enumeration) */
	r.target_registered = false;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	/* REGISTER is never an "incoming call" */
	r.target_registered = true;
	r.is_register = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	r.is_register = false;
	/* a Route of the sender's choosing: the next hop would not be our user */
	r.foreign_route = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	r.foreign_route = false;
	/* not our domain */
	r.to_local = false;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
}

static void test_trusted_peer(void **state)
{
	struct policy_req r = from("10.20.0.2");

	(void)state;
	assert_int_equal(policy_decide(&conf, &r), POLICY_TRUSTED_PEER);
	r.is_register = true;
	r.foreign_route = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_TRUSTED_PEER);
	assert_true(policy_trusted_peer(&conf, ip("10.20.0.2")));
	/* its neighbour is not */
	assert_false(policy_trusted_peer(&conf, ip("10.20.0.3")));
	r = from("10.20.0.3");
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
}

static void test_route_allow_from(void **state)
{
	struct policy_req r;

	(void)state;
	/* by realm name */
	r = from("10.1.0.10");
	r.route = sp_conf_route(&conf, "b.example.net");
	assert_non_null(r.route);
	assert_int_equal(policy_decide(&conf, &r), POLICY_ROUTE);
	/* by prefix */
	r = from("192.0.2.77");
	r.route = sp_conf_route(&conf, "b.example.net");
	assert_int_equal(policy_decide(&conf, &r), POLICY_ROUTE);
	/* an outsider the route does not admit */
	r = from("203.0.113.10");
	r.route = sp_conf_route(&conf, "b.example.net");
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	/* a route with no allow_from admits no one unauthenticated */
	r = from("10.1.0.10");
	r.route = sp_conf_route(&conf, "c.example.net");
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	/* an admitted source that adds a Route of its own: refused */
	r = from("10.1.0.10");
	r.route = sp_conf_route(&conf, "b.example.net");
	r.foreign_route = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	assert_false(policy_route_admits(NULL, ip("10.1.0.10"), 0));
}

static void test_options_to_proxy(void **state)
{
	struct policy_req r = from("203.0.113.10");

	(void)state;
	r.to_local = true;
	r.to_local_proxy = true;
	r.is_options = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_LOCAL);
	/* any other method to the proxy itself: refused */
	r.is_options = false;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	/* an OPTIONS with a Route elsewhere would be relayed: refused */
	r.is_options = true;
	r.foreign_route = true;
	assert_int_equal(policy_decide(&conf, &r), POLICY_REFUSE);
	assert_string_equal(policy_verdict_name(POLICY_REFUSE), "refused");
	assert_string_equal(policy_verdict_name(POLICY_INCOMING), "incoming");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_loaded),
		cmocka_unit_test(test_conf_defaults_and_errors),
		cmocka_unit_test(test_numeric_ruri_refused),
		cmocka_unit_test(test_authenticated),
		cmocka_unit_test(test_incoming_call),
		cmocka_unit_test(test_trusted_peer),
		cmocka_unit_test(test_route_allow_from),
		cmocka_unit_test(test_options_to_proxy),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
