/*
 * auth_i.h - who a connection is, and what ACLs let it do (ZooKeeper's
 * digest, ip, world and auth schemes, and the super user).
 *
 * Design
 *   A connection's identities are a small set of (scheme, id) pairs, as in
 *   ZooKeeper's ServerCnxn.authInfo:
 *     - "ip", the client's address, added when the connection is made;
 *     - "digest", "user:<base64 sha1(user:password)>", one per successful
 *       `addauth digest user:password`;
 *     - "super" with an empty id, when such a digest equals the configured
 *       superDigest; the flag ids->super says the same thing;
 *     - for a caller through the mount (a local session), "uid" and "gid"
 *       with decimal ids: the calling process's user and groups, set per
 *       call (auth_ids_set_caller), and "super" for root when
 *       mountRootSuper is on.  Only such connections may put uid:/gid:
 *       entries in an ACL (the client port rejects them, as ZooKeeper
 *       rejects an unknown scheme); entries of those schemes match only
 *       them.
 *   The pairs are what whoAmI reports and what "auth" ACL entries expand to;
 *   the flag is what auth_permits tests first.
 *
 *   ACLs reach these functions as struct zk_acl_list (decoded from a client
 *   request) or as raw jute vector<ACL> bytes (as stored in the tree, see
 *   txn.h); both are only read.
 *
 * Invariants
 *   1. ids->v[0..n) are distinct pairs; n <= AUTH_IDS_MAX.
 *   2. ids->super is true iff a ("super", "") pair is present.
 *   3. An ACL list written by auth_acl_fixup is non-empty and holds only
 *      world:anyone, digest ids of the form user:hash and ip ids that parse;
 *      never an "auth" entry.
 *
 * Threads: a struct auth_ids belongs to its connection and is used only by
 *   the thread that serves that connection; the other functions are pure.
 */
#ifndef ZABFS_AUTH_I_H
#define ZABFS_AUTH_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/config.h"
#include "zabfs/jute.h"
#include "zabfs/types.h"

/* More distinct identities than this on one connection: ZK_AUTHFAILED.
 * ZooKeeper has no bound; one protects the server's memory. */
#define AUTH_IDS_MAX 32

struct auth_id {
	const char *scheme; /* "ip", "digest", "super", "uid", "gid"; static */
	char *id;           /* owned by the struct auth_ids */
};

struct auth_ids {
	struct auth_id v[AUTH_IDS_MAX];
	size_t n;
	bool super;
	bool local; /* a mount caller: uid:/gid: ACL entries allowed */
};

/*
 * Starts a connection's identities with ip:<client_addr>.  An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) is recorded as a.b.c.d, as Java does.
 * client_addr NULL: no ip id (a connection from inside the node).
 * Returns 0 or ZK_NOMEM; on failure there is nothing to free.
 */
int auth_ids_init(struct auth_ids *ids, const char *client_addr);
void auth_ids_free(struct auth_ids *ids);

/*
 * Makes ids those of a mount caller: uid:<uid>, gid:<gid> and
 * gid:<gids[i]> (supplementary groups), and super when super is set; the previous call's
 * uid/gid/super pairs are dropped.  Groups past AUTH_IDS_MAX - 2 are not
 * recorded.  Returns 0 or ZK_NOMEM (ids then has no uid/gid pairs).
 */
int auth_ids_set_caller(struct auth_ids *ids, uint32_t uid, uint32_t gid,
			const uint32_t *gids, size_t n_gids, bool super);

/*
 * The identities as a forwarded request carries them to the leader
 * (forward.c): int flags (1: local), int n, then n (scheme, id) strings.
 * auth_ids_decode replaces ids by what b holds: 0; ZK_MALFORMED (bytes that
 * do not decode, an unknown scheme, too many); ZK_NOMEM.  On failure ids
 * is empty.
 */
void auth_ids_encode(const struct auth_ids *ids, struct jute_writer *w);
int auth_ids_decode(struct auth_ids *ids, struct zk_bytes b);

/*
 * The digest id of a credential "user:password" (len bytes, no NUL needed):
 * "user:" + base64(sha1(credential)), where user is the text before the
 * first ':' (the whole credential when there is none, as in ZooKeeper).
 * Returns a NUL-terminated string the caller frees, or NULL (no memory).
 */
char *auth_digest(const char *credential, size_t len);

/*
 * `addauth scheme credential` (an AuthPacket).  "digest" adds the digest id,
 * and makes the connection super when the id equals cfg->super_digest; "ip"
 * re-adds the client address (ZooKeeper's IPAuthenticationProvider does the
 * same, so nothing changes).  Returns 0; ZK_AUTHFAILED for any other scheme,
 * a credential holding a NUL byte, or a full id set; ZK_NOMEM.  On failure
 * ids is unchanged.
 */
int auth_add(struct auth_ids *ids, struct zk_bytes scheme,
	     struct zk_bytes credential, const struct zabfs_config *cfg);

/*
 * True when the connection may do perm on a node with this ACL: it is super;
 * or the list is empty; or an entry shares a bit with perm and matches
 * (world:anyone; digest: equal ids; ip: the client's address under the
 * entry's addr[/bits]).  perm may hold several bits: any one suffices
 * (getACL asks READ|ADMIN).
 */
bool auth_permits(const struct zk_acl_list *acl, const struct auth_ids *ids,
		  int32_t perm);

/* auth_permits for a stored (jute vector<ACL>) list; a list that does not
 * decode permits nothing, except to super. */
bool auth_permits_raw(struct zk_bytes acl_raw, const struct auth_ids *ids,
		      int32_t perm);

/*
 * The ACL of a create or setACL, checked and made final, appended to out as
 * jute vector<ACL> (what the tree stores).  As ZooKeeper's fixupACL: equal
 * entries are dropped after the first; world must be world:anyone; each
 * "auth" entry becomes one entry per digest id of the connection, with the
 * entry's perms; digest ids must be user:hash; ip ids addr[/bits].
 * Returns 0; ZK_INVALIDACL for an empty or null list, an unknown scheme, a
 * bad id, or an "auth" entry on a connection with no digest id; ZK_NOMEM
 * (also when out failed).  On failure out's length is restored.
 */
int auth_acl_fixup(const struct zk_acl_list *in, const struct auth_ids *ids,
		   struct jute_writer *out);

/* auth_acl_fixup for an encoded vector<ACL> as a request carries it
 * (struct zk_vec.raw); ZK_MALFORMED when it does not decode. */
int auth_acl_fixup_raw(struct zk_bytes in_raw, const struct auth_ids *ids,
		       struct jute_writer *out);

/*
 * The ACL a getACL reply carries: the stored list copied to out, with every
 * digest id's hash replaced by "x" ("user:x") unless admin (the caller has
 * ADMIN on the node).  Returns 0, ZK_CORRUPT when acl_raw does not decode,
 * ZK_NOMEM when out failed.
 */
int auth_acl_write_masked(struct zk_bytes acl_raw, bool admin,
			  struct jute_writer *out);

/*
 * WhoAmIResponse's vector<ClientInfo{authScheme, user}>: one per identity;
 * user is the address for ip, the user name for digest, "" for super.
 */
void auth_whoami_write(const struct auth_ids *ids, struct jute_writer *out);

/*
 * The permission a request needs (ZooKeeper opcode) and whether it is
 * checked on the parent (create, delete) rather than the node.  0 for ops
 * that check no ACL (sync, ping, watches, auth, session ops, multi itself:
 * each op inside a multi is checked on its own).
 */
int32_t auth_op_perm(int32_t opcode, bool *on_parent);

#endif
