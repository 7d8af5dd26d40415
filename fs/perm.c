/*
 * perm.c - who may do what on the mount: the caller as the kernel reports
 * it, ACL checks for the operations the mount serves itself (reads), and
 * the mode bits and owner that `ls -l` shows for an ACL.
 *
 * Design
 *   A process is identified by its uid and groups (filesystem.md section
 *   6): ACL entries uid:<n> and gid:<n> name them, besides world:anyone;
 *   root is super only with mountRootSuper=true.  Writes carry the caller
 *   to the replica (struct zabfs_caller), which checks them on the request
 *   path as it checks a client's; reads are served here from the tree and
 *   checked here with the same rule: an operation needing perms P is
 *   allowed when the union of the matching entries' perms covers P.
 *   Supplementary groups cost a read of /proc, so a read fetches them only
 *   when a gid: entry could still decide.
 *
 *   Mode bits: other = world's perms; owner = world's | the first uid:
 *   entry's (st_uid is its id, else 0); group = world's | the first gid:
 *   entry's (st_gid likewise).  r = READ; w = WRITE for a file, CREATE or
 *   DELETE for a directory; directories are always x.  /zookeeper is shown
 *   read-only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zabfs/zkproto.h"
#include "fs_i.h"

static bool is(struct zk_bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len == (int32_t)n && !memcmp(b.p, s, n);
}

/* The id of a uid:/gid: entry as a number; false when it is not one. */
static bool id_number(struct zk_bytes id, uint32_t *out)
{
	if (id.len <= 0 || id.len > 10)
		return false;
	uint64_t v = 0;
	for (int32_t i = 0; i < id.len; i++) {
		if (id.p[i] < '0' || id.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(id.p[i] - '0');
	}
	*out = (uint32_t)v;
	return v <= UINT32_MAX;
}

void fs_caller(fuse_req_t req, bool groups, struct zabfs_caller *who)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	memset(who, 0, sizeof(*who));
	who->uid = ctx->uid;
	who->gid = ctx->gid;
	who->pid = (uint32_t)ctx->pid;
	if (!groups)
		return;
	gid_t list[ZABFS_CALLER_GROUPS];
	int n = fuse_req_getgroups(req, ZABFS_CALLER_GROUPS, list);
	if (n > ZABFS_CALLER_GROUPS)
		n = ZABFS_CALLER_GROUPS;
	for (int i = 0; i < n; i++)
		who->groups[who->n_groups++] = list[i];
}

bool fs_allowed(struct fs *fs, fuse_req_t req, const struct tree_view *v,
		int32_t need)
{
	struct zabfs_caller who;
	fs_caller(req, false, &who);
	if (who.uid == 0 && zabfs_replica_config(fs->r)->mount_root_super)
		return true;
	int32_t have = 0;
	bool gid_entries = false;
	for (int32_t i = 0; i < v->acl.n; i++) {
		const struct zk_acl *a = &v->acl.v[i];
		uint32_t id;
		if (is(a->id.scheme, "world") && is(a->id.id, "anyone"))
			have |= a->perms;
		else if (is(a->id.scheme, "uid") && id_number(a->id.id, &id) &&
			 id == who.uid)
			have |= a->perms;
		else if (is(a->id.scheme, "gid") && id_number(a->id.id, &id)) {
			if (id == who.gid)
				have |= a->perms;
			else
				gid_entries = true;
		}
	}
	if ((have & need) == need || !gid_entries)
		return (have & need) == need;
	fs_caller(req, true, &who);
	for (int32_t i = 0; i < v->acl.n; i++) {
		const struct zk_acl *a = &v->acl.v[i];
		uint32_t id;
		if (!is(a->id.scheme, "gid") || !id_number(a->id.id, &id))
			continue;
		for (uint32_t g = 0; g < who.n_groups; g++)
			if (who.groups[g] == id)
				have |= a->perms;
	}
	return (have & need) == need;
}

static mode_t bits(enum fs_kind kind, int32_t perms, bool read_only)
{
	mode_t m = 0;
	if (perms & ZK_PERM_READ)
		m |= 04;
	int32_t w = kind == FS_KIND_DIR ? ZK_PERM_CREATE | ZK_PERM_DELETE
					: ZK_PERM_WRITE;
	if (!read_only && (perms & w))
		m |= 02;
	if (kind == FS_KIND_DIR)
		m |= 01;
	return m;
}

void fs_acl_mode(const struct tree_view *v, enum fs_kind kind,
		 bool read_only, struct stat *st)
{
	int32_t world = 0, owner = 0, group = 0;
	bool has_uid = false, has_gid = false;
	for (int32_t i = 0; i < v->acl.n; i++) {
		const struct zk_acl *a = &v->acl.v[i];
		uint32_t id;
		if (is(a->id.scheme, "world") && is(a->id.id, "anyone")) {
			world |= a->perms;
		} else if (is(a->id.scheme, "uid") && id_number(a->id.id, &id) &&
			   (!has_uid || id == st->st_uid)) {
			has_uid = true;
			st->st_uid = id;
			owner |= a->perms;
		} else if (is(a->id.scheme, "gid") && id_number(a->id.id, &id) &&
			   (!has_gid || id == st->st_gid)) {
			has_gid = true;
			st->st_gid = id;
			group |= a->perms;
		}
	}
	st->st_mode = (kind == FS_KIND_DIR ? S_IFDIR : S_IFREG) |
		      bits(kind, world | owner, read_only) << 6 |
		      bits(kind, world | group, read_only) << 3 |
		      bits(kind, world, read_only);
}
