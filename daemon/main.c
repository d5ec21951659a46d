/* dvipad: the dvipa daemon, one per node. See dvipad(8). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/control.h"
#include "core/version.h"
#include "daemon/dvipad.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/profile.h"

#define CONFIG_DEFAULT "/etc/dvipa/dvipa.conf"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dvipad [-c FILE] [-s SOCKET] [-S DIR] [--metrics ADDR:PORT] [-f] [-v]\n"
	        "       dvipad --check-config FILE\n"
	        "       dvipad --version\n"
	        "  -c, --config FILE      the node profile (default " CONFIG_DEFAULT ")\n"
	        "  -s, --socket PATH      control socket (default " CONTROL_SOCKET_DEFAULT ")\n"
	        "  -S, --state-dir DIR    keeps the operator state (default /var/lib/dvipa)\n"
	        "      --metrics ADDR:PORT  serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	        "                         ([IPV6]:PORT; overrides the profile's METRICS LISTEN)\n"
	        "  -f, --foreground       stay in the foreground\n"
	        "  -v, --verbose          log debug messages\n"
	        "      --check-config FILE  report every error in FILE and exit 1, or exit 0\n"
	        "      --version          print the version and exit\n");
}

/* Loads a profile, printing what is wrong with it. Returns 0 or -errno. */
static int load(const char *path, struct config **ret)
{
	struct config_errors errs = {0};
	int err = profile_load(path, ret, &errs);

	if (err == -EINVAL && errs.n) {
		size_t n = profile_print_errors(path, &errs);

		fprintf(stderr, "%s: %zu error%s\n", path, n, n == 1 ? "" : "s");
	} else if (err < 0) {
		fprintf(stderr, "%s: %s\n", path,
		        err == -EFBIG ? "file too large for a profile" : strerror(-err));
	}
	config_errors_clear(&errs);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'},
	    {"state-dir", required_argument, NULL, 'S'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"check-config", required_argument, NULL, 'C'},
	    {"metrics", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct dvipad_options opts = {
	    .config_path = CONFIG_DEFAULT,
	    .socket_path = CONTROL_SOCKET_DEFAULT,
	};
	const char *check = NULL;
	struct config *config = NULL;
	struct dvipad *d = NULL;
	bool foreground = false;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "c:s:S:fvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 's':
			opts.socket_path = optarg;
			break;
		case 'S':
			opts.state_dir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'C':
			check = optarg;
			break;
		case 'M':
			err = ipaddr_parse_endpoint(optarg, &opts.metrics_addr, &opts.metrics_port);
			if (err < 0) {
				fprintf(stderr, "dvipad: --metrics '%s': %s\n", optarg,
				        err == -ERANGE ? "the port must be 1 to 65535"
				                       : "not ADDR:PORT or [IPV6]:PORT");
				return 2;
			}
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
	if (optind != argc) {
		fprintf(stderr, "dvipad: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	if (check) {
		if (load(check, &config) < 0)
			return 1;
		printf("%s: profile is valid\n", check);
		config_free(config);
		return 0;
	}

	if (load(opts.config_path, &config) < 0)
		return 1;
	if (!foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "dvipad: cannot detach: %s\n", strerror(errno));
		config_free(config);
		return 1;
	}
	err = dvipad_new(&opts, config, &d);
	if (err < 0) {
		config_free(config);
		return 1;
	}
	err = dvipad_run(d);
	/* Giving the DVIPAs up takes a moment: the service manager shows why. */
	notify_stopping();
	dvipad_free(d);
	if (err < 0) {
		log_err("event loop failed: %s", strerror(-err));
		return 1;
	}
	log_info("stopped");
	return 0;
}
