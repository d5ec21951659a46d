/* dvipactl: the operator's tool; talks to the local dvipad. See dvipactl(8).
 * The commands are a table; each builds one control request. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"
#include "core/ipaddr.h"
#include "core/version.h"
#include "ctl/client.h"

struct command {
	const char *words; /* e.g. "show config" */
	enum control_cmd cmd;
	unsigned args; /* ARG_* accepted after the words */
	const char *help;
};

#define ARG_JSON 0x1u
#define ARG_ADDR 0x2u /* one address, required */
#define ARG_PORT 0x4u /* optional --port P */

static const struct command commands[] = {
    {"show config", CONTROL_SHOW_CONFIG, ARG_JSON, "this node's profile (VIPADCFG)"},
    {"show dynamic", CONTROL_SHOW_DYNAMIC, ARG_JSON,
     "DVIPAs known here and their status (VIPADYN)"},
    {"show plex", CONTROL_SHOW_PLEX, ARG_JSON, "members, quorum and who owns each DVIPA"},
    {"show ports", CONTROL_SHOW_PORTS, ARG_JSON, "distributed ports and targets (VDPT)"},
    {"show connections", CONTROL_SHOW_CONNECTIONS, ARG_JSON, "distributed connections (VCRT)"},
    {"show counters", CONTROL_SHOW_COUNTERS, ARG_JSON, "this node's BPF data plane counters"},
    {"monitor", CONTROL_MONITOR, ARG_JSON,
     "stream owner, status, member and quorum events as they happen"},
    {"deactivate", CONTROL_DEACTIVATE, ARG_ADDR, "give ADDR up to its backup (planned move)"},
    {"reactivate", CONTROL_REACTIVATE, ARG_ADDR, "take ADDR back after deactivate"},
    {"leave", CONTROL_LEAVE, 0, "leave the plex, giving up every DVIPA (LEAVEGROUP)"},
    {"join", CONTROL_JOIN, 0, "come back after leave (JOINGROUP)"},
    {"quiesce", CONTROL_QUIESCE, ARG_PORT, "accept no new distributed connections here"},
    {"resume", CONTROL_RESUME, ARG_PORT, "accept new distributed connections again"},
    {"reload", CONTROL_RELOAD, 0, "read the profile again and apply what changed"},
    {"show version", CONTROL_SHOW_VERSION, ARG_JSON,
     "the running dvipad's version and protocol versions"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dvipactl [-s SOCKET] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		char words[64];

		snprintf(words, sizeof(words), "%s%s%s%s", c->words,
		         c->args & ARG_ADDR ? " ADDR" : "", c->args & ARG_PORT ? " [--port P]" : "",
		         c->args & ARG_JSON ? " [--json]" : "");
		fprintf(f, "  %-34s %s\n", words, c->help);
	}
	fprintf(f,
	        "\n  -s, --socket PATH   dvipad's control socket (default %s)\n"
	        "      --version       print this dvipactl's version (show version asks dvipad)\n",
	        CONTROL_SOCKET_DEFAULT);
}

/* Matches argv against the command words; returns the command and sets
 * *consumed, or NULL. */
static const struct command *find_command(int argc, char **argv, int *consumed)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char words[64], *save = NULL, *w;
		int n = 0;
		bool match = true;

		snprintf(words, sizeof(words), "%s", commands[i].words);
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), n++) {
			if (n >= argc || strcmp(argv[n], w) != 0) {
				match = false;
				break;
			}
		}
		if (match) {
			*consumed = n;
			return &commands[i];
		}
	}
	return NULL;
}

static int parse_port(const char *s, uint16_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* Fills req from the words after the command. Prints what is wrong. */
static int parse_args(const struct command *c, int argc, char **argv, struct control_request *req)
{
	bool have_addr = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((c->args & ARG_JSON) && strcmp(a, "--json") == 0) {
			req->flags |= CONTROL_F_JSON;
		} else if ((c->args & ARG_PORT) && strcmp(a, "--port") == 0) {
			if (i + 1 >= argc || parse_port(argv[i + 1], &req->port) < 0) {
				fprintf(stderr,
				        "dvipactl: %s: --port needs a port number 1-65535\n",
				        c->words);
				return -EINVAL;
			}
			req->flags |= CONTROL_F_PORT;
			i++;
		} else if ((c->args & ARG_ADDR) && !have_addr && a[0] != '-') {
			struct ipaddr addr;

			if (ipaddr_parse(a, &addr) < 0) {
				fprintf(stderr,
				        "dvipactl: %s: '%s' is not an IPv4 or IPv6 address\n",
				        c->words, a);
				return -EINVAL;
			}
			control_request_set_addr(req, &addr);
			have_addr = true;
		} else {
			fprintf(stderr, "dvipactl: %s: unexpected argument '%s'\n", c->words, a);
			return -EINVAL;
		}
	}
	if ((c->args & ARG_ADDR) && !have_addr) {
		fprintf(stderr, "dvipactl: %s: which DVIPA? (dvipactl %s ADDR)\n", c->words,
		        c->words);
		return -EINVAL;
	}
	return 0;
}

static int print_bytes(void *data, const char *bytes, size_t len)
{
	(void)data;
	if (fwrite(bytes, 1, len, stdout) != len || fflush(stdout) != 0)
		return -EIO;
	return 0;
}

/* dvipactl monitor: prints events until dvipad ends the stream. */
static int monitor(const char *socket_path, const struct control_request *req)
{
	char *msg = NULL;
	int status = 0, err = client_monitor(socket_path, req, &status, &msg, print_bytes, NULL);

	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr, "dvipactl: dvipad is not running (nothing answers on %s)\n",
		        socket_path);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "dvipactl: monitor: %s\n",
		        err == -EPROTO ? "malformed answer" : strerror(-err));
		return 1;
	}
	if (status < 0) {
		fprintf(stderr, "dvipactl: monitor: %s\n", msg && *msg ? msg : strerror(-status));
		free(msg);
		return 1;
	}
	free(msg);
	fprintf(stderr, "dvipactl: monitor: dvipad ended the stream\n");
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket_path = CONTROL_SOCKET_DEFAULT;
	const struct command *c;
	struct control_request req;
	char *body = NULL;
	int opt, consumed = 0, status = 0, err;

	/* "+": stop at the first command word, so that --json etc. stay ours. */
	while ((opt = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dvipa %s\n", version_string());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	c = find_command(argc, argv, &consumed);
	if (!c) {
		fprintf(stderr, "dvipactl: unknown command '%s%s%s' (dvipactl --help lists them)\n",
		        argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return 2;
	}
	control_request_init(&req, c->cmd, 0);
	if (parse_args(c, argc - consumed, argv + consumed, &req) < 0)
		return 2;

	if (c->cmd == CONTROL_MONITOR)
		return monitor(socket_path, &req);
	err = client_call(socket_path, &req, &status, &body);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr, "dvipactl: dvipad is not running (nothing answers on %s)\n",
		        socket_path);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "dvipactl: talking to dvipad on %s: %s\n", socket_path,
		        err == -EPROTO ? "malformed answer" : strerror(-err));
		return 1;
	}
	if (status < 0) {
		fprintf(stderr, "dvipactl: %s: %s\n", c->words,
		        body && *body ? body : strerror(-status));
		free(body);
		return 1;
	}
	fputs(body, stdout);
	if (*body && body[strlen(body) - 1] != '\n')
		fputc('\n', stdout);
	free(body);
	return 0;
}
