/* The version dvipad reports (dvipa_build_info, dvipad --version). */
#ifndef DVIPA_DAEMON_VERSION_H
#define DVIPA_DAEMON_VERSION_H

#define DVIPA_VERSION "0.1.0"

#endif
