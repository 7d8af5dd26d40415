/*
 * xattr_set.c - writes through extended attributes: data, compare-and-set,
 * conditional delete and the ACL (filesystem.md sections 3 and 6).
 *
 * Design
 *   setxattr names (the value's bytes are taken as they are):
 *     user.zk.data             setData (any version); the way to set a
 *                              directory's data without its .data file
 *     user.zk.set.<V>          setData only if the version is still V
 *     user.zk.delete.<V>       delete only if the version is still V
 *                              (value ignored)
 *     user.zk.acl              setACL: one scheme:id:perms entry per line
 *                              (or comma separated), as getfattr shows it
 *     user.zk.acl.<V>          setACL only if the ACL version is still V
 *   A version that moved fails with ESTALE (BADVERSION), an ACL that does
 *   not parse with EINVAL; nothing changes then.  Other user.zk.* names
 *   are the stat fields: EPERM.  <V> is a decimal int32, -1 for any.
 *
 * Valid replies: err.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/zkproto.h"
#include "fs_i.h"

#define MAX_ACL 64

/* A version suffix: decimal int32 (or -1); false when it is not one. */
static bool parse_version(const char *s, int32_t *out)
{
	char *end;
	if (!*s)
		return false;
	long long v = strtoll(s, &end, 10);
	if (*end || v < -1 || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	return true;
}

static int32_t parse_perms(const char *p, size_t n)
{
	int32_t perms = 0;
	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case 'c': perms |= ZK_PERM_CREATE; break;
		case 'd': perms |= ZK_PERM_DELETE; break;
		case 'r': perms |= ZK_PERM_READ; break;
		case 'w': perms |= ZK_PERM_WRITE; break;
		case 'a': perms |= ZK_PERM_ADMIN; break;
		default: return -1;
		}
	}
	return perms;
}

/* Parses "scheme:id:perms" entries (newline or comma separated) into a
 * jute vector<ACL> in w; the id is what lies between the first and the
 * last ':' (digest ids hold one).  Returns the count, or -1. */
static int32_t parse_acl(const char *text, size_t len, struct jute_writer *w)
{
	struct zk_acl v[MAX_ACL];
	int32_t n = 0;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && text[end] != '\n' && text[end] != ',')
			end++;
		size_t e = end;
		while (e > i && (text[e - 1] == ' ' || text[e - 1] == '\r'))
			e--;
		while (i < e && text[i] == ' ')
			i++;
		if (i < e) {
			const char *c1 = memchr(text + i, ':', e - i);
			const char *c2 = NULL;
			for (size_t k = e; k > i; k--)
				if (text[k - 1] == ':') {
					c2 = text + k - 1;
					break;
				}
			if (!c1 || c2 == c1 || n == MAX_ACL)
				return -1;
			int32_t perms =
				parse_perms(c2 + 1, (size_t)(text + e - c2 - 1));
			if (perms < 0)
				return -1;
			v[n].perms = perms;
			v[n].id.scheme = zk_bytes_of(text + i,
						     (size_t)(c1 - text - i));
			v[n].id.id = zk_bytes_of(c1 + 1, (size_t)(c2 - c1 - 1));
			n++;
		}
		i = end + 1;
	}
	if (n == 0)
		return -1;
	struct zk_acl_list l = {n, v};
	zk_put_acl_list(w, &l);
	return n;
}

static int set_acl(struct fs *fs, fuse_req_t req, const char *path,
		   const char *value, size_t size, int32_t version)
{
	struct jute_writer w;
	jute_writer_init(&w, 256);
	int32_t n = parse_acl(value, size, &w);
	int err = n < 0 ? EINVAL
		  : !jute_writer_ok(&w)
			  ? ENOMEM
			  : fs_set_acl(fs, req, path,
				       (struct zk_vec){n, zk_bytes_of(w.buf,
								      w.len)},
				       version);
	jute_writer_free(&w);
	return err;
}

static int set_xattr(struct fs *fs, fuse_req_t req, const struct fs_inode *in,
		     const char *name, const char *value, size_t size)
{
	int32_t version = -1;
	const char *path = in->path; /* a .data inode names its directory */
	if (!strcmp(name, "user.zk.data") ||
	    (!strncmp(name, "user.zk.set.", 12) &&
	     parse_version(name + 12, &version)))
		return size > (size_t)fs->max_data
			       ? EFBIG
			       : fs_set_data(fs, req, path,
					     (const uint8_t *)value, size,
					     version);
	if (!strncmp(name, "user.zk.delete.", 15) &&
	    parse_version(name + 15, &version))
		return fs_delete(fs, req, path, version);
	if (!strcmp(name, "user.zk.acl") ||
	    (!strncmp(name, "user.zk.acl.", 12) &&
	     parse_version(name + 12, &version)))
		return set_acl(fs, req, path, value, size, version);
	if (!strncmp(name, "user.zk.", 8))
		return EPERM; /* the stat fields are read-only */
	return ENOTSUP;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)flags;
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	int err;
	if (!in)
		err = ESTALE;
	else if (fs_is_replay(fs, req))
		err = 0;
	else if (fs_is_zookeeper(in->path, in->path_len) &&
		 !strncmp(name, "user.", 5))
		err = EROFS;
	else
		err = set_xattr(fs, req, in, name, value, size);
	fuse_reply_err(req, err);
}

void fs_ops_xattr_set(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = op_setxattr;
}
