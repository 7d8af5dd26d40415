/*
 * zkop.c - the ZooKeeper requests the mount makes for its writes, each one
 * call on a local session (call.c): setData, delete, setACL, the
 * compare-and-set loop that appends and resizes, and reading a node's
 * data and version to start one.
 *
 * Design
 *   A struct fs_zkcall holds a request and its reply.  fs_zkcall_send
 *   marks the paths it changes as this mount's own (notify.c), so that
 *   the notifier does not replay what the kernel already saw, and turns
 *   the reply's error into an errno (fs_errno).  The compare-and-set loop
 *   reads the data and version under RCU, computes the new data, and
 *   sends setData with that version until no other writer came between
 *   (FS_CAS_TRIES tries: EBUSY after).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/zkproto.h"
#include "fs_i.h"

void fs_zkcall_init(struct fs_zkcall *c)
{
	jute_writer_init(&c->w, 256);
	jute_writer_init(&c->reply, 256);
	c->zk_err = 0;
	c->zxid = 0;
}

void fs_zkcall_free(struct fs_zkcall *c)
{
	jute_writer_free(&c->w);
	jute_writer_free(&c->reply);
}

/* Sends c->w, marking paths a (and b) as this mount's own change.
 * Returns an errno: of the call, or of the reply's err. */
int fs_zkcall_send(struct fs *fs, fuse_req_t req, struct fs_zkcall *c,
		     bool ephemeral, const char *a, bool seq, const char *b)
{
	struct fs_own *oa = a ? fs_own_begin(fs, a, strlen(a), seq) : NULL;
	struct fs_own *ob = b ? fs_own_begin(fs, b, strlen(b), false) : NULL;
	int err = fs_call(fs, req, ephemeral, &c->w, &c->reply, &c->body,
			  &c->zk_err, &c->zxid);
	int64_t zxid = err == 0 && c->zk_err == 0 ? c->zxid : 0;
	if (oa)
		fs_own_end(fs, oa, zxid);
	if (ob)
		fs_own_end(fs, ob, zxid);
	if (err)
		return err;
	return fs_errno(c->zk_err);
}

struct zk_vec fs_world_acl(struct fs *fs)
{
	struct zk_vec v = {1, zk_bytes_of(fs->world_acl.buf,
					  fs->world_acl.len)};
	return v;
}

int fs_set_data(struct fs *fs, fuse_req_t req, const char *path,
			 const uint8_t *data, size_t len, int32_t version)
{
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_request r = {.type = ZK_OP_SET_DATA};
	r.u.set_data.path = zk_bytes_of(path, strlen(path));
	r.u.set_data.data = zk_bytes_of(data, len);
	r.u.set_data.version = version;
	zk_request_encode(&c.w, &r);
	int err = fs_zkcall_send(fs, req, &c, false, path, false, NULL);
	fs_zkcall_free(&c);
	return err;
}

/* Reads the data and version of path (copy in *data, malloc'd). */
int fs_read_data(struct fs *fs, const char *path, uint8_t **data,
		     size_t *len, int32_t *version)
{
	int err = 0;
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	if (!n) {
		err = ENOENT;
		goto out;
	}
	struct tree_view v;
	tree_node_read(n, &v);
	*len = v.data.len > 0 ? (size_t)v.data.len : 0;
	*version = v.stat.version;
	*data = malloc(*len + 1);
	if (!*data)
		err = ENOMEM;
	else if (*len)
		memcpy(*data, v.data.p, *len);
out:
	tree_read_unlock();
	return err;
}

/* Sets path's data to f(current) with compare-and-set: append (add, n)
 * or resize to size (add NULL). */
int fs_cas_data(struct fs *fs, fuse_req_t req, const char *path,
		    const uint8_t *add, size_t n, size_t size)
{
	for (int i = 0; i < FS_CAS_TRIES; i++) {
		uint8_t *cur;
		size_t len;
		int32_t version;
		int err = fs_read_data(fs, path, &cur, &len, &version);
		if (err)
			return err;
		size_t want = add ? len + n : size;
		if (want > (size_t)fs->max_data) {
			free(cur);
			return EFBIG;
		}
		uint8_t *nb = realloc(cur, want + 1);
		if (!nb) {
			free(cur);
			return ENOMEM;
		}
		if (add)
			memcpy(nb + len, add, n);
		else if (want > len)
			memset(nb + len, 0, want - len);
		err = fs_set_data(fs, req, path, nb, want, version);
		free(nb);
		if (err != ESTALE)
			return err;
	}
	return EBUSY;
}

int fs_delete(struct fs *fs, fuse_req_t req, const char *path,
	      int32_t version)
{
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_request r = {.type = ZK_OP_DELETE};
	r.u.path_version.path = zk_bytes_of(path, strlen(path));
	r.u.path_version.version = version;
	zk_request_encode(&c.w, &r);
	int err = fs_zkcall_send(fs, req, &c, false, path, false, NULL);
	fs_zkcall_free(&c);
	return err;
}

int fs_set_acl(struct fs *fs, fuse_req_t req, const char *path,
	       struct zk_vec acl, int32_t version)
{
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_request r = {.type = ZK_OP_SET_ACL};
	r.u.set_acl.path = zk_bytes_of(path, strlen(path));
	r.u.set_acl.acl = acl;
	r.u.set_acl.version = version;
	zk_request_encode(&c.w, &r);
	int err = fs_zkcall_send(fs, req, &c, false, path, false, NULL);
	fs_zkcall_free(&c);
	return err;
}
