/* corosync's effective totem timers (cmap) and votequorum state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/votequorum.h>

#include "fabric/info.h"

static void info_str(cmap_handle_t h, const char *key, char *buf, size_t size)
{
	char *s = NULL;

	if (cmap_get_string(h, key, &s) != CS_OK)
		return;
	snprintf(buf, size, "%s", s);
	free(s);
}

static int info_errno(cs_error_t e)
{
	if (e == CS_ERR_NO_MEMORY)
		return -ENOMEM;
	if (e == CS_ERR_ACCESS)
		return -EACCES;
	return -ECONNREFUSED;
}

int info_read(struct fabric_info *ret)
{
	struct fabric_info info;
	struct votequorum_info vq;
	votequorum_handle_t vh = 0;
	cmap_handle_t h = 0;
	uint32_t nodeid = 0;
	bool cmap_open = false, vq_open = false;
	cs_error_t e;
	int rc;

	memset(&info, 0, sizeof(info));
	e = cmap_initialize(&h);
	if (e != CS_OK) {
		rc = info_errno(e);
		goto out;
	}
	cmap_open = true;
	info_str(h, "totem.cluster_name", info.cluster_name, sizeof(info.cluster_name));
	info_str(h, "totem.transport", info.transport, sizeof(info.transport));
	if (!info.transport[0])
		snprintf(info.transport, sizeof(info.transport), "knet"); /* corosync 3's default */
	/* runtime.config.* hold what totem runs with, after token_coefficient. */
	(void)cmap_get_uint32(h, "runtime.config.totem.token", &info.token_ms);
	(void)cmap_get_uint32(h, "runtime.config.totem.consensus", &info.consensus_ms);
	(void)cmap_get_uint32(h, "runtime.votequorum.this_node_id", &nodeid);

	/* Without votequorum the timers alone are still worth showing. */
	if (votequorum_initialize(&vh, NULL) == CS_OK) {
		vq_open = true;
		memset(&vq, 0, sizeof(vq));
		if (nodeid && votequorum_getinfo(vh, nodeid, &vq) == CS_OK) {
			info.expected_votes = vq.node_expected_votes;
			info.total_votes = vq.total_votes;
			info.quorum = vq.quorum;
			info.quorate = vq.flags & VOTEQUORUM_INFO_QUORATE;
			info.two_node = vq.flags & VOTEQUORUM_INFO_TWONODE;
			info.wait_for_all = vq.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL;
		}
	}
	*ret = info;
	rc = 0;
out:
	if (vq_open)
		(void)votequorum_finalize(vh);
	if (cmap_open)
		(void)cmap_finalize(h);
	return rc;
}
