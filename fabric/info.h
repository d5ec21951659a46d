/* corosync's timers and votequorum state for displays (see fabric_info()). */
#ifndef DVIPA_FABRIC_INFO_H
#define DVIPA_FABRIC_INFO_H

#include "fabric/fabric.h"

int info_read(struct fabric_info *ret);

#endif
