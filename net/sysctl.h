/* Network sysctls under /proc/sys/net, read and written as integers: the
 * knobs the target role turns (arp_ignore, arp_announce on the interface
 * that must not answer for a DVIPA held on lo; rp_filter for decapsulated
 * packets; forwarding on a distributor).
 *
 * They are per network namespace: the caller's. The kernel applies some of
 * them as a combination of the "all" and the interface value (rp_filter and
 * arp_ignore take the maximum, arp_announce too): set both when it matters. */
#ifndef DVIPA_NET_SYSCTL_H
#define DVIPA_NET_SYSCTL_H

/* path is relative to /proc/sys/net, e.g. "ipv4/ip_forward". Components are
 * letters, digits, '_', '-' and '.', and never "." or "..". Returns 0 or
 * -errno (-ENOENT for an unknown knob, -EINVAL for a malformed path or a
 * value that is not an integer). */
int sysctl_get(const char *path, int *ret_value);
int sysctl_set(const char *path, int value);

/* net/ipv4/conf/IFNAME/KEY (family 4) or net/ipv6/conf/IFNAME/KEY (family
 * 6); ifname may also be "all" or "default". sysctl_if_set() stores the
 * value it replaced in *ret_old (may be NULL), for a later restore. */
int sysctl_if_get(int family, const char *ifname, const char *key, int *ret_value);
int sysctl_if_set(int family, const char *ifname, const char *key, int value, int *ret_old);

#endif
