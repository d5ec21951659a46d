/* Counts, per local address, the TCP connections of this node's network
 * namespace that a move of the address would break, as state changes
 * happen, so that dvipad never walks the kernel's TCP hash to count them.
 *
 * sockcount_state runs on every TCP state change of every namespace (the
 * tracepoint is global: nodes that are namespaces of one kernel each load
 * their own copy) and keeps those of netns_ino only. A socket is counted
 * while its state is anything but LISTEN, TIME_WAIT, CLOSE (what the
 * sock_diag count of net/diag.c counts, less the half-open request
 * sockets, which are no sockets of their own until the handshake ends).
 * Each counted socket carries a mark (socket local storage: it goes with
 * the socket) saying it is counted and under which address, so that it is
 * taken off the same count exactly once.
 *
 * sockcount_seed is a TCP socket iterator that the loader runs once, after
 * the tracepoint is attached, to count the sockets that existed before.
 * The iterator holds each socket's lock while it looks at it, as state
 * changes do; the mark's compare-and-swap makes the seed and the events
 * idempotent: a socket already counted by an event is not counted again,
 * one that closed before the iterator reached it is not seen by it.
 * See docs/dataplane.md, "Counting connections". */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dataplane/sockcount_maps.h"

/* UAPI macros that vmlinux.h (types only) does not carry. */
#define AF_INET  2
#define AF_INET6 10

/* The network namespace counted (the inode of /proc/self/ns/net). */
const volatile __u32 netns_ino = 0;

struct sockcount_mark {
	__u32 counted; /* 1 while the socket adds to conns[key] */
	struct sockcount_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sockcount_mark);
} marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SOCKCOUNT_ADDRS_MAX);
	__type(key, struct sockcount_key);
	__type(value, sockcount_value);
} conns SEC(".maps");

struct sockcount_stats stats = {};

static __always_inline void untracked(void)
{
	__sync_fetch_and_add(&stats.untracked, 1);
}

static __always_inline bool counted(int state)
{
	return state != TCP_LISTEN && state != TCP_TIME_WAIT && state != TCP_CLOSE &&
	       state != TCP_NEW_SYN_RECV;
}

static __always_inline void key_of(const struct sock *sk, struct sockcount_key *k)
{
	const __u8 *a6 = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8;
	__u32 a4 = sk->__sk_common.skc_rcv_saddr;
	bool mapped = true;

	__builtin_memset(k, 0, sizeof(*k));
	if (sk->__sk_common.skc_family == AF_INET6) {
		for (int i = 0; i < 10; i++)
			mapped &= a6[i] == 0;
		mapped &= a6[10] == 0xff && a6[11] == 0xff;
		if (!mapped) {
			k->family = SOCKCOUNT_FAMILY_V6;
			for (int i = 0; i < 16; i++)
				k->addr[i] = a6[i];
			return;
		}
		/* skc_rcv_saddr holds the IPv4 address of a mapped one. */
	}
	k->family = SOCKCOUNT_FAMILY_V4;
	__builtin_memcpy(k->addr, &a4, sizeof(a4));
}

static __always_inline void add(const struct sockcount_key *k, sockcount_value d)
{
	sockcount_value zero = 0, *v = bpf_map_lookup_elem(&conns, k);

	if (!v) {
		/* Another CPU may make it at the same moment: fine. */
		bpf_map_update_elem(&conns, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&conns, k);
		if (!v) {
			untracked();
			return;
		}
	}
	__sync_fetch_and_add(v, d);
	__sync_fetch_and_add(&stats.changes, 1);
}

/* sk is about to be in state (or is, for the seed). */
static __always_inline void account(struct sock *sk, int state)
{
	struct sockcount_mark *m;
	struct sockcount_key k;

	if (sk->__sk_common.skc_net.net->ns.inum != netns_ino || sk->sk_protocol != IPPROTO_TCP)
		return;
	if (sk->__sk_common.skc_family != AF_INET && sk->__sk_common.skc_family != AF_INET6)
		return;
	if (!counted(state)) {
		m = bpf_sk_storage_get(&marks, sk, 0, 0);
		if (m && __sync_val_compare_and_swap(&m->counted, 1, 0) == 1)
			add(&m->key, -1);
		return;
	}
	m = bpf_sk_storage_get(&marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!m) {
		untracked();
		return;
	}
	if (m->counted)
		return;
	key_of(sk, &k);
	m->key = k;
	if (__sync_val_compare_and_swap(&m->counted, 0, 1) == 0)
		add(&k, 1);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockcount_state, struct sock *sk, int oldstate, int newstate)
{
	(void)oldstate;
	account(sk, newstate);
	return 0;
}

SEC("iter/tcp")
int sockcount_seed(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	/* Full sockets only: request and TIME_WAIT ones are never counted. */
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	account((struct sock *)tp, skc->skc_state);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
