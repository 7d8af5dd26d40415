/*
 * auth.c - connection identities, ACL checks and ACL fixup (auth_i.h).
 *
 * Design
 *   Scheme and id strings arrive as length-counted views (struct zk_bytes)
 *   that may hold any byte, so every comparison here is by length and
 *   memcmp, never by C string.  IP ids are parsed with inet_pton each time
 *   they are matched: an ACL is short and a check is a handful of compares,
 *   so caching parsed addresses would buy nothing.
 *
 *   The rules follow ZooKeeper's providers: digest ids match exactly; an ip
 *   entry "addr[/bits]" matches a client address of the same family whose
 *   first bits bits equal addr's; "auth" entries exist only in requests and
 *   are expanded by auth_acl_fixup.
 *
 * Invariants: see auth_i.h.
 */
#include "auth_i.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha1_i.h"
#include "zabfs/err.h"
#include "zabfs/zkproto.h"

static bool bytes_eq(struct zk_bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len >= 0 && (size_t)b.len == n && memcmp(b.p, s, n) == 0;
}

static bool bytes_same(struct zk_bytes a, struct zk_bytes b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ---- identities ---- */

/* Adds (scheme, id[0..len)) unless present.  0, ZK_AUTHFAILED (full) or
 * ZK_NOMEM. */
static int ids_add(struct auth_ids *ids, const char *scheme, const char *id,
		   size_t len)
{
	for (size_t i = 0; i < ids->n; i++)
		if (strcmp(ids->v[i].scheme, scheme) == 0 &&
		    strlen(ids->v[i].id) == len &&
		    memcmp(ids->v[i].id, id, len) == 0)
			return 0;
	if (ids->n == AUTH_IDS_MAX)
		return ZK_AUTHFAILED;
	char *copy = strndup(id, len);
	if (!copy)
		return ZK_NOMEM;
	ids->v[ids->n].scheme = scheme;
	ids->v[ids->n].id = copy;
	ids->n++;
	return 0;
}

int auth_ids_init(struct auth_ids *ids, const char *client_addr)
{
	memset(ids, 0, sizeof *ids);
	if (!client_addr)
		return 0;
	struct in6_addr a6;
	char v4[INET_ADDRSTRLEN];
	if (inet_pton(AF_INET6, client_addr, &a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED(&a6) &&
	    inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof v4))
		client_addr = v4;
	return ids_add(ids, "ip", client_addr, strlen(client_addr));
}

int auth_ids_set_caller(struct auth_ids *ids, uint32_t uid, uint32_t gid,
			const uint32_t *gids, size_t n_gids, bool super)
{
	size_t kept = 0;
	for (size_t i = 0; i < ids->n; i++) {
		const char *s = ids->v[i].scheme;
		if (!strcmp(s, "uid") || !strcmp(s, "gid") ||
		    !strcmp(s, "super"))
			free(ids->v[i].id);
		else
			ids->v[kept++] = ids->v[i];
	}
	ids->n = kept;
	ids->local = true;
	ids->super = false;
	char num[16];
	int rc = ids_add(ids, "uid", num,
			 (size_t)snprintf(num, sizeof num, "%" PRIu32, uid));
	if (rc == 0)
		rc = ids_add(ids, "gid", num,
			     (size_t)snprintf(num, sizeof num, "%" PRIu32, gid));
	for (size_t i = 0; i < n_gids && rc == 0 && ids->n < AUTH_IDS_MAX - 1;
	     i++)
		rc = ids_add(ids, "gid", num,
			     (size_t)snprintf(num, sizeof num, "%" PRIu32,
					      gids[i]));
	if (rc == 0 && super) {
		rc = ids_add(ids, "super", "", 0);
		ids->super = rc == 0;
	}
	return rc == ZK_AUTHFAILED ? 0 : rc;
}

void auth_ids_free(struct auth_ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		free(ids->v[i].id);
	memset(ids, 0, sizeof *ids);
}

void auth_ids_encode(const struct auth_ids *ids, struct jute_writer *w)
{
	jute_put_int(w, ids->local ? 1 : 0);
	jute_put_int(w, (int32_t)ids->n);
	for (size_t i = 0; i < ids->n; i++) {
		jute_put_cstring(w, ids->v[i].scheme);
		jute_put_cstring(w, ids->v[i].id);
	}
}

int auth_ids_decode(struct auth_ids *ids, struct zk_bytes b)
{
	static const char *const schemes[] = {"ip", "digest", "super", "uid",
					      "gid"};
	auth_ids_free(ids);
	struct jute_reader r;
	jute_reader_init(&r, b.p, b.len > 0 ? (size_t)b.len : 0);
	int32_t flags = jute_get_int(&r);
	int32_t n = jute_get_int(&r);
	if (!jute_reader_ok(&r) || n < 0 || n > AUTH_IDS_MAX)
		return ZK_MALFORMED;
	ids->local = flags & 1;
	int rc = 0;
	for (int32_t i = 0; i < n && rc == 0; i++) {
		struct zk_bytes s = jute_get_buffer(&r), id = jute_get_buffer(&r);
		const char *scheme = NULL;
		for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++)
			if (bytes_eq(s, schemes[k]))
				scheme = schemes[k];
		if (!jute_reader_ok(&r) || !scheme || id.len < 0 ||
		    memchr(id.p, 0, (size_t)id.len))
			rc = ZK_MALFORMED;
		else
			rc = ids_add(ids, scheme, (const char *)id.p,
				     (size_t)id.len);
		if (rc == 0 && scheme == schemes[2])
			ids->super = true;
	}
	if (rc == 0 && r.pos != r.len)
		rc = ZK_MALFORMED;
	if (rc)
		auth_ids_free(ids);
	return rc == ZK_AUTHFAILED ? ZK_MALFORMED : rc;
}

char *auth_digest(const char *credential, size_t len)
{
	uint8_t hash[SHA1_LEN];
	sha1(credential, len, hash);
	const char *colon = memchr(credential, ':', len);
	size_t user_len = colon ? (size_t)(colon - credential) : len;
	char *out = malloc(user_len + 1 + BASE64_LEN(SHA1_LEN) + 1);
	if (!out)
		return NULL;
	memcpy(out, credential, user_len);
	out[user_len] = ':';
	base64_encode(hash, SHA1_LEN, out + user_len + 1);
	return out;
}

int auth_add(struct auth_ids *ids, struct zk_bytes scheme,
	     struct zk_bytes credential, const struct zabfs_config *cfg)
{
	if (bytes_eq(scheme, "ip"))
		return 0; /* the client address is already there */
	if (!bytes_eq(scheme, "digest"))
		return ZK_AUTHFAILED;
	size_t len = credential.len > 0 ? (size_t)credential.len : 0;
	const char *cred = len ? (const char *)credential.p : "";
	if (memchr(cred, '\0', len))
		return ZK_AUTHFAILED;

	char *digest = auth_digest(cred, len);
	if (!digest)
		return ZK_NOMEM;
	bool super = cfg && cfg->super_digest &&
		     strcmp(digest, cfg->super_digest) == 0;
	size_t before = ids->n;
	int rv = ids_add(ids, "digest", digest, strlen(digest));
	if (rv == 0 && super)
		rv = ids_add(ids, "super", "", 0);
	if (rv == 0 && super)
		ids->super = true;
	if (rv != 0) {
		while (ids->n > before)
			free(ids->v[--ids->n].id);
	}
	free(digest);
	return rv;
}

/* ---- matching ---- */

/* An ip id "addr[/bits]" into family, address bytes and bits. */
struct ip_expr {
	int family;
	uint8_t addr[16];
	int bits;
};

static bool parse_ip(struct zk_bytes id, struct ip_expr *e)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (id.len <= 0 || (size_t)id.len >= sizeof buf)
		return false;
	memcpy(buf, id.p, (size_t)id.len);
	buf[id.len] = '\0';
	if (memchr(buf, '\0', (size_t)id.len))
		return false;
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, e->addr) == 1) {
		e->family = AF_INET;
		e->bits = 32;
	} else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		e->family = AF_INET6;
		e->bits = 128;
	} else {
		return false;
	}
	if (!slash)
		return true;
	const char *b = slash + 1;
	size_t n = strlen(b);
	if (n == 0 || n > 3 || strspn(b, "0123456789") != n)
		return false;
	int bits = atoi(b);
	if (bits > e->bits)
		return false;
	e->bits = bits;
	return true;
}

/* True when the first bits bits of a and b agree. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool ip_matches(const char *client, struct zk_bytes expr)
{
	struct ip_expr acl, me;
	if (!parse_ip(expr, &acl) ||
	    !parse_ip(zk_bytes_of(client, strlen(client)), &me))
		return false;
	return acl.family == me.family &&
	       prefix_eq(acl.addr, me.addr, acl.bits);
}

/* Does one ACL entry (with a bit of perm) let ids in? */
static bool entry_matches(struct zk_bytes scheme, struct zk_bytes id,
			  const struct auth_ids *ids)
{
	if (bytes_eq(scheme, "world"))
		return bytes_eq(id, "anyone");
	bool digest = bytes_eq(scheme, "digest");
	bool ip = !digest && bytes_eq(scheme, "ip");
	const char *local = bytes_eq(scheme, "uid")   ? "uid"
			    : bytes_eq(scheme, "gid") ? "gid"
						      : NULL;
	for (size_t i = 0; i < ids->n && (digest || ip || local); i++) {
		const struct auth_id *me = &ids->v[i];
		if (digest && strcmp(me->scheme, "digest") == 0 &&
		    bytes_eq(id, me->id))
			return true;
		if (local && strcmp(me->scheme, local) == 0 &&
		    bytes_eq(id, me->id))
			return true;
		if (ip && strcmp(me->scheme, "ip") == 0 &&
		    ip_matches(me->id, id))
			return true;
	}
	return false;
}

bool auth_permits(const struct zk_acl_list *acl, const struct auth_ids *ids,
		  int32_t perm)
{
	if (ids->super || acl->n <= 0)
		return true;
	for (int32_t i = 0; i < acl->n; i++) {
		const struct zk_acl *a = &acl->v[i];
		if ((a->perms & perm) != 0 &&
		    entry_matches(a->id.scheme, a->id.id, ids))
			return true;
	}
	return false;
}

bool auth_permits_raw(struct zk_bytes acl_raw, const struct auth_ids *ids,
		      int32_t perm)
{
	if (ids->super)
		return true;
	struct zk_vec_iter it;
	struct zk_acl a;
	int rv;
	zk_vec_iter_init(&it, acl_raw);
	if (it.remaining <= 0)
		return jute_reader_ok(&it.r);
	while ((rv = zk_vec_next_acl(&it, &a)) == 1)
		if ((a.perms & perm) != 0 &&
		    entry_matches(a.id.scheme, a.id.id, ids))
			return true;
	return false;
}

/* ---- fixup ---- */

/* DigestAuthenticationProvider.isValid: Java's id.split(":") has exactly
 * two parts, i.e. after dropping trailing ':'s there is exactly one ':' and
 * something after it. */
static bool digest_id_valid(struct zk_bytes id)
{
	if (id.len <= 0)
		return false;
	size_t n = (size_t)id.len;
	while (n > 0 && id.p[n - 1] == ':')
		n--;
	const uint8_t *colon = memchr(id.p, ':', n);
	return colon && colon + 1 < id.p + n &&
	       !memchr(colon + 1, ':', n - (size_t)(colon + 1 - id.p));
}

static void put_acl(struct jute_writer *w, int32_t perms,
		    struct zk_bytes scheme, struct zk_bytes id)
{
	jute_put_int(w, perms);
	jute_put_buffer(w, scheme);
	jute_put_buffer(w, id);
}

static bool acl_same(const struct zk_acl *a, const struct zk_acl *b)
{
	return a->perms == b->perms && bytes_same(a->id.scheme, b->id.scheme) &&
	       bytes_same(a->id.id, b->id.id);
}

/* Order for finding equal entries in O(n log n): perms, scheme, id, and
 * the position last so that the first of equals sorts first. */
static int acl_cmp(const void *x, const void *y)
{
	const struct zk_acl *const *a = x, *const *b = y;
	if ((*a)->perms != (*b)->perms)
		return (*a)->perms < (*b)->perms ? -1 : 1;
	const struct zk_bytes *fa[2] = {&(*a)->id.scheme, &(*a)->id.id};
	const struct zk_bytes *fb[2] = {&(*b)->id.scheme, &(*b)->id.id};
	for (int i = 0; i < 2; i++) {
		if (fa[i]->len != fb[i]->len)
			return fa[i]->len < fb[i]->len ? -1 : 1;
		int c = fa[i]->len > 0
				? memcmp(fa[i]->p, fb[i]->p, (size_t)fa[i]->len)
				: 0;
		if (c != 0)
			return c;
	}
	return (*a < *b) ? -1 : (*a > *b);
}

/* dup[i] = true when in->v[i] equals an earlier entry.  0 or ZK_NOMEM. */
static int mark_duplicates(const struct zk_acl_list *in, bool *dup)
{
	const struct zk_acl **order = malloc((size_t)in->n * sizeof *order);
	if (!order)
		return ZK_NOMEM;
	for (int32_t i = 0; i < in->n; i++)
		order[i] = &in->v[i];
	qsort(order, (size_t)in->n, sizeof *order, acl_cmp);
	for (int32_t i = 1; i < in->n; i++)
		if (acl_same(order[i - 1], order[i]))
			dup[order[i] - in->v] = true;
	free(order);
	return 0;
}

/* A uid:/gid: id: 1 to 10 decimal digits, no leading zero (so that equal
 * numbers are equal ids). */
static bool decimal_id_valid(struct zk_bytes id)
{
	if (id.len <= 0 || id.len > 10 || (id.p[0] == '0' && id.len > 1))
		return false;
	uint64_t v = 0;
	for (int32_t i = 0; i < id.len; i++) {
		if (id.p[i] < '0' || id.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(id.p[i] - '0');
	}
	return v <= UINT32_MAX;
}

/* Writes the entries one request entry stands for; returns how many, or
 * ZK_INVALIDACL. */
static int32_t fixup_entry(const struct zk_acl *a, const struct auth_ids *ids,
			   struct jute_writer *out)
{
	struct zk_bytes scheme = a->id.scheme, id = a->id.id;
	if (scheme.len < 0)
		return ZK_INVALIDACL;
	/* The id of an "auth" entry is ignored; kazoo sends "" as null. */
	if (bytes_eq(scheme, "auth")) {
		int32_t n = 0;
		for (size_t i = 0; i < ids->n; i++) {
			if (strcmp(ids->v[i].scheme, "digest") != 0)
				continue;
			const char *id_s = ids->v[i].id;
			put_acl(out, a->perms, zk_bytes_of("digest", 6),
				zk_bytes_of(id_s, strlen(id_s)));
			n++;
		}
		return n > 0 ? n : ZK_INVALIDACL;
	}
	if (id.len < 0)
		return ZK_INVALIDACL;
	struct ip_expr e;
	bool ok = (bytes_eq(scheme, "world") && bytes_eq(id, "anyone")) ||
		  (bytes_eq(scheme, "digest") && digest_id_valid(id)) ||
		  (bytes_eq(scheme, "ip") && parse_ip(id, &e)) ||
		  (ids->local &&
		   (bytes_eq(scheme, "uid") || bytes_eq(scheme, "gid")) &&
		   decimal_id_valid(id));
	if (!ok)
		return ZK_INVALIDACL;
	put_acl(out, a->perms, scheme, id);
	return 1;
}

int auth_acl_fixup(const struct zk_acl_list *in, const struct auth_ids *ids,
		   struct jute_writer *out)
{
	if (in->n <= 0)
		return ZK_INVALIDACL;
	bool *dup = calloc((size_t)in->n, sizeof *dup);
	if (!dup)
		return ZK_NOMEM;
	size_t start = out->len;
	int rv = mark_duplicates(in, dup);
	if (rv != 0)
		goto out_dup;
	jute_put_int(out, 0); /* the count, patched below */
	int32_t count = 0;
	for (int32_t i = 0; i < in->n; i++) {
		if (dup[i])
			continue;
		int32_t n = fixup_entry(&in->v[i], ids, out);
		if (n < 0) {
			rv = n;
			goto out_dup;
		}
		count += n;
	}
	if (!jute_writer_ok(out)) {
		rv = ZK_NOMEM;
		goto out_dup;
	}
	jute_patch_int(out, start, count);
out_dup:
	if (rv != 0)
		out->len = start;
	free(dup);
	return rv;
}

int auth_acl_fixup_raw(struct zk_bytes in_raw, const struct auth_ids *ids,
		       struct jute_writer *out)
{
	struct zk_vec_iter it;
	zk_vec_iter_init(&it, in_raw);
	if (!jute_reader_ok(&it.r))
		return ZK_MALFORMED;
	if (it.remaining <= 0)
		return ZK_INVALIDACL;
	/* A count never exceeds the bytes left (jute_get_count), so this
	 * array is at most a few times the size of the request. */
	struct zk_acl *v = malloc((size_t)it.remaining * sizeof *v);
	if (!v)
		return ZK_NOMEM;
	int32_t n = 0;
	int rv;
	while ((rv = zk_vec_next_acl(&it, &v[n])) == 1)
		n++;
	if (rv == 0) {
		struct zk_acl_list list = {n, v};
		rv = auth_acl_fixup(&list, ids, out);
	} else {
		rv = ZK_MALFORMED;
	}
	free(v);
	return rv;
}

/* ---- replies ---- */

int auth_acl_write_masked(struct zk_bytes acl_raw, bool admin,
			  struct jute_writer *out)
{
	struct zk_vec_iter it;
	struct zk_acl a;
	int rv;
	size_t start = out->len;
	zk_vec_iter_init(&it, acl_raw);
	jute_put_int(out, it.remaining);
	while ((rv = zk_vec_next_acl(&it, &a)) == 1) {
		struct zk_bytes id = a.id.id;
		const uint8_t *colon =
			id.len > 0 ? memchr(id.p, ':', (size_t)id.len) : NULL;
		if (admin || !colon || !bytes_eq(a.id.scheme, "digest")) {
			put_acl(out, a.perms, a.id.scheme, id);
			continue;
		}
		/* ZooKeeper: id.replaceAll(":.*", ":x") */
		int32_t user = (int32_t)(colon - id.p);
		jute_put_int(out, a.perms);
		jute_put_buffer(out, a.id.scheme);
		jute_put_int(out, user + 2);
		jute_put_raw(out, id.p, (size_t)user);
		jute_put_raw(out, ":x", 2);
	}
	if (rv == 0 && jute_reader_ok(&it.r) && jute_writer_ok(out))
		return 0;
	out->len = start;
	return rv != 0 || !jute_reader_ok(&it.r) ? ZK_CORRUPT : ZK_NOMEM;
}

void auth_whoami_write(const struct auth_ids *ids, struct jute_writer *out)
{
	jute_put_int(out, (int32_t)ids->n);
	for (size_t i = 0; i < ids->n; i++) {
		const struct auth_id *me = &ids->v[i];
		size_t user = strlen(me->id);
		if (strcmp(me->scheme, "digest") == 0)
			user = strcspn(me->id, ":");
		jute_put_cstring(out, me->scheme);
		jute_put_buffer(out, zk_bytes_of(me->id, user));
	}
}

int32_t auth_op_perm(int32_t opcode, bool *on_parent)
{
	*on_parent = false;
	switch (opcode) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		*on_parent = true;
		return ZK_PERM_CREATE;
	case ZK_OP_DELETE:
		*on_parent = true;
		return ZK_PERM_DELETE;
	case ZK_OP_EXISTS: /* only when the node exists */
	case ZK_OP_GET_DATA:
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
	case ZK_OP_CHECK:
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		return ZK_PERM_READ;
	case ZK_OP_SET_DATA:
		return ZK_PERM_WRITE;
	case ZK_OP_GET_ACL:
		return ZK_PERM_READ | ZK_PERM_ADMIN;
	case ZK_OP_SET_ACL:
		return ZK_PERM_ADMIN;
	default:
		return 0;
	}
}
