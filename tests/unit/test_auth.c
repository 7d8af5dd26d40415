/*
 * test_auth.c - digest ids, connection identities, the ACL check matrix,
 * ACL fixup, getACL masking, whoAmI and the per-op permission table.
 */
#include "auth_i.h"
#include "check.h"
#include "zabfs/err.h"
#include "zabfs/zkproto.h"

static struct zk_bytes B(const char *s)
{
	return zk_bytes_of(s, strlen(s));
}

static struct zk_acl A(int32_t perms, const char *scheme, const char *id)
{
	struct zk_acl a = {perms, {B(scheme), B(id)}};
	return a;
}

static bool digest_is(const char *cred, const char *want)
{
	char *d = auth_digest(cred, strlen(cred));
	bool ok = d && strcmp(d, want) == 0;
	if (!ok)
		fprintf(stderr, "digest(%s) = %s, want %s\n", cred,
			d ? d : "NULL", want);
	free(d);
	return ok;
}

static void test_digest(void)
{
	CHECK(digest_is("super:test", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
	CHECK(digest_is("bob:secret", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="));
	/* The user is the text before the first ':', or everything. */
	CHECK(digest_is("a:b:c", "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0="));
	CHECK(digest_is("nocolon", "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="));
	CHECK(digest_is(":empty", ":d28FdgWGP7/+uHX3M9UcKTYVL90="));
	CHECK(digest_is("alice:", "alice:VvKt9/iw7kxS1milYay2cPWBnRo="));
}

static bool has_id(const struct auth_ids *ids, const char *scheme,
		   const char *id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (strcmp(ids->v[i].scheme, scheme) == 0 &&
		    strcmp(ids->v[i].id, id) == 0)
			return true;
	return false;
}

static void test_ids(void)
{
	struct zabfs_config cfg = {0};
	cfg.super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
	struct auth_ids ids;

	CHECK_EQ_INT(auth_ids_init(&ids, "10.1.2.3"), 0);
	CHECK_EQ_INT(ids.n, 1);
	CHECK(has_id(&ids, "ip", "10.1.2.3"));
	CHECK(!ids.super);

	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("bob:secret"), &cfg), 0);
	CHECK(has_id(&ids, "digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="));
	CHECK(!ids.super);
	/* The same credential again adds nothing. */
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("bob:secret"), &cfg), 0);
	CHECK_EQ_INT(ids.n, 2);
	/* "ip" is accepted and changes nothing (ZooKeeper re-adds the
	 * address); other schemes fail and change nothing. */
	CHECK_EQ_INT(auth_add(&ids, B("ip"), B("1.1.1.1"), &cfg), 0);
	const char *bad[] = {"world", "auth", "sasl", "x509", "super", "",
			     "Digest"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(auth_add(&ids, B(bad[i]), B("bob:secret"), &cfg),
			     ZK_AUTHFAILED);
	struct zk_bytes nul = {(const uint8_t *)"bo\0b:x", 6};
	CHECK_EQ_INT(auth_add(&ids, B("digest"), nul, &cfg), ZK_AUTHFAILED);
	CHECK_EQ_INT(ids.n, 2);

	/* The super password makes the connection super. */
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("super:test"), &cfg), 0);
	CHECK(ids.super);
	CHECK(has_id(&ids, "super", ""));
	CHECK(has_id(&ids, "digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
	CHECK_EQ_INT(ids.n, 4);
	auth_ids_free(&ids);

	/* Without a configured superDigest nobody is super. */
	CHECK_EQ_INT(auth_ids_init(&ids, "::1"), 0);
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("super:test"), NULL), 0);
	CHECK(!ids.super);
	/* A null credential is an empty one. */
	struct zk_bytes null_cred = {NULL, -1};
	CHECK_EQ_INT(auth_add(&ids, B("digest"), null_cred, NULL), 0);
	auth_ids_free(&ids);

	/* An IPv4-mapped address is recorded as IPv4; NULL: no ip id. */
	CHECK_EQ_INT(auth_ids_init(&ids, "::ffff:192.168.0.9"), 0);
	CHECK(has_id(&ids, "ip", "192.168.0.9"));
	auth_ids_free(&ids);
	CHECK_EQ_INT(auth_ids_init(&ids, NULL), 0);
	CHECK_EQ_INT(ids.n, 0);

	/* The set is bounded, and a failed add leaves it as it was. */
	int rv = 0;
	for (int i = 0; rv == 0 && i < 2 * AUTH_IDS_MAX; i++) {
		char cred[32];
		snprintf(cred, sizeof cred, "u%d:p", i);
		rv = auth_add(&ids, B("digest"), B(cred), &cfg);
	}
	CHECK_EQ_INT(rv, ZK_AUTHFAILED);
	CHECK_EQ_INT(ids.n, AUTH_IDS_MAX);
	auth_ids_free(&ids);

	/* A super add that has room for the digest but not for "super"
	 * is undone completely. */
	CHECK_EQ_INT(auth_ids_init(&ids, "10.0.0.1"), 0);
	for (int i = 0; ids.n < AUTH_IDS_MAX - 1; i++) {
		char cred[32];
		snprintf(cred, sizeof cred, "u%d:p", i);
		CHECK_EQ_INT(auth_add(&ids, B("digest"), B(cred), &cfg), 0);
	}
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("super:test"), &cfg),
		     ZK_AUTHFAILED);
	CHECK_EQ_INT(ids.n, AUTH_IDS_MAX - 1);
	CHECK(!ids.super);
	auth_ids_free(&ids);
}

/* Encodes a list as the tree stores it (for the _raw functions). */
static struct jute_writer encode(const struct zk_acl *v, int32_t n)
{
	struct jute_writer w;
	jute_writer_init(&w, 64);
	struct zk_acl_list l = {n, v};
	zk_put_acl_list(&w, &l);
	return w;
}

/* auth_permits and auth_permits_raw agree; returns their answer. */
static bool permits(const struct zk_acl *v, int32_t n,
		    const struct auth_ids *ids, int32_t perm)
{
	struct zk_acl_list l = {n, v};
	bool a = auth_permits(&l, ids, perm);
	struct jute_writer w = encode(v, n);
	bool b = auth_permits_raw(zk_bytes_of(w.buf, w.len), ids, perm);
	jute_writer_free(&w);
	CHECK(a == b);
	return a;
}

static void test_permits(void)
{
	struct zabfs_config cfg = {0};
	cfg.super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
	struct auth_ids anon, bob, sup, v6;
	CHECK_EQ_INT(auth_ids_init(&anon, "10.1.2.3"), 0);
	CHECK_EQ_INT(auth_ids_init(&bob, "10.9.9.9"), 0);
	CHECK_EQ_INT(auth_add(&bob, B("digest"), B("bob:secret"), &cfg), 0);
	CHECK_EQ_INT(auth_ids_init(&sup, "172.16.0.1"), 0);
	CHECK_EQ_INT(auth_add(&sup, B("digest"), B("super:test"), &cfg), 0);
	CHECK_EQ_INT(auth_ids_init(&v6, "2001:db8::5"), 0);

	/* Empty list: everything, for everyone. */
	CHECK(permits(NULL, 0, &anon, ZK_PERM_ADMIN));

	/* world:anyone with some bits. */
	struct zk_acl world[] = {A(ZK_PERM_READ | ZK_PERM_WRITE, "world",
				   "anyone")};
	CHECK(permits(world, 1, &anon, ZK_PERM_READ));
	CHECK(permits(world, 1, &anon, ZK_PERM_WRITE));
	CHECK(!permits(world, 1, &anon, ZK_PERM_DELETE));
	CHECK(!permits(world, 1, &anon, ZK_PERM_ADMIN));
	/* Any one bit of a multi-bit request is enough (getACL). */
	CHECK(permits(world, 1, &anon, ZK_PERM_READ | ZK_PERM_ADMIN));
	struct zk_acl world_other[] = {A(ZK_PERM_ALL, "world", "someone")};
	CHECK(!permits(world_other, 1, &anon, ZK_PERM_READ));

	/* digest: exact id. */
	struct zk_acl dig[] = {
		A(ZK_PERM_ALL, "digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=")};
	CHECK(permits(dig, 1, &bob, ZK_PERM_ADMIN));
	CHECK(!permits(dig, 1, &anon, ZK_PERM_READ));
	struct zk_acl dig_masked[] = {A(ZK_PERM_ALL, "digest", "bob:x")};
	CHECK(!permits(dig_masked, 1, &bob, ZK_PERM_READ));
	/* The ip id of a connection never matches a digest entry. */
	struct zk_acl dig_ip[] = {A(ZK_PERM_ALL, "digest", "10.1.2.3")};
	CHECK(!permits(dig_ip, 1, &anon, ZK_PERM_READ));

	/* ip with and without masks, v4 and v6. */
	struct {
		const char *acl;
		const struct auth_ids *who;
		bool want;
	} ip[] = {
		{"10.1.2.3", &anon, true},
		{"10.1.2.4", &anon, false},
		{"10.1.2.3/32", &anon, true},
		{"10.1.2.0/24", &anon, true},
		{"10.1.3.0/24", &anon, false},
		{"10.0.0.0/8", &anon, true},
		{"10.1.0.0/15", &anon, true},
		{"10.2.0.0/15", &anon, false},
		{"10.1.2.2/31", &anon, true},
		{"10.1.2.0/31", &anon, false},
		{"0.0.0.0/0", &anon, true},
		{"10.1.2.3/33", &anon, false},
		{"10.1.2", &anon, false},
		{"2001:db8::5", &v6, true},
		{"2001:db8::/32", &v6, true},
		{"2001:db9::/32", &v6, false},
		{"2001:db8::4/127", &v6, true},
		{"2001:db8::6/127", &v6, false},
		{"::/0", &v6, true},
		{"::/0", &anon, false}, /* families never mix */
		{"0.0.0.0/0", &v6, false},
		{"2001:db8::5/129", &v6, false},
	};
	for (size_t i = 0; i < sizeof ip / sizeof ip[0]; i++) {
		struct zk_acl a[] = {A(ZK_PERM_READ, "ip", ip[i].acl)};
		bool got = permits(a, 1, ip[i].who, ZK_PERM_READ);
		if (got != ip[i].want)
			fprintf(stderr, "ip %s: got %d\n", ip[i].acl, got);
		CHECK(got == ip[i].want);
		CHECK(!permits(a, 1, ip[i].who, ZK_PERM_WRITE));
	}

	/* A later entry can grant what an earlier one does not. */
	struct zk_acl mixed[] = {
		A(ZK_PERM_READ, "world", "anyone"),
		A(ZK_PERM_ALL, "digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="),
		A(ZK_PERM_WRITE, "ip", "10.1.2.0/24"),
	};
	CHECK(permits(mixed, 3, &anon, ZK_PERM_WRITE));
	CHECK(!permits(mixed, 3, &anon, ZK_PERM_DELETE));
	CHECK(permits(mixed, 3, &bob, ZK_PERM_DELETE));
	/* Unknown or "auth" schemes in a stored list match nobody. */
	struct zk_acl odd[] = {A(ZK_PERM_ALL, "auth", ""),
			       A(ZK_PERM_ALL, "x509", "CN=x")};
	CHECK(!permits(odd, 2, &bob, ZK_PERM_READ));

	/* super bypasses everything, even a list that grants nothing. */
	struct zk_acl none[] = {A(0, "world", "anyone")};
	CHECK(permits(none, 1, &sup, ZK_PERM_ALL));
	CHECK(permits(dig, 1, &sup, ZK_PERM_ADMIN));
	CHECK(!permits(none, 1, &bob, ZK_PERM_READ));

	/* A stored list that does not decode permits nothing but super. */
	const uint8_t junk[] = {0, 0, 0, 5, 1, 2};
	CHECK(!auth_permits_raw(zk_bytes_of(junk, sizeof junk), &bob,
				ZK_PERM_READ));
	CHECK(auth_permits_raw(zk_bytes_of(junk, sizeof junk), &sup,
			       ZK_PERM_READ));

	auth_ids_free(&anon);
	auth_ids_free(&bob);
	auth_ids_free(&sup);
	auth_ids_free(&v6);
}

/* Decodes a fixed-up list back into entries: count, or -1. */
static int decode(const struct jute_writer *w, size_t off, struct zk_acl *v,
		  int max)
{
	struct zk_vec_iter it;
	zk_vec_iter_init(&it, zk_bytes_of(w->buf + off, w->len - off));
	int n = 0, rv;
	while (n < max && (rv = zk_vec_next_acl(&it, &v[n])) == 1)
		n++;
	return jute_reader_done(&it.r) ? n : -1;
}

static bool acl_is(const struct zk_acl *a, int32_t perms, const char *scheme,
		   const char *id)
{
	return a->perms == perms &&
	       a->id.scheme.len == (int32_t)strlen(scheme) &&
	       memcmp(a->id.scheme.p, scheme, strlen(scheme)) == 0 &&
	       a->id.id.len == (int32_t)strlen(id) &&
	       memcmp(a->id.id.p, id, strlen(id)) == 0;
}

static int fixup(const struct zk_acl *v, int32_t n, const struct auth_ids *ids,
		 struct jute_writer *w)
{
	struct zk_acl_list l = {n, v};
	jute_writer_reset(w);
	int rv = auth_acl_fixup(&l, ids, w);
	/* The raw variant gives the same answer and bytes. */
	struct jute_writer in = encode(v, n), w2;
	jute_writer_init(&w2, 0);
	int rv2 = auth_acl_fixup_raw(zk_bytes_of(in.buf, in.len), ids, &w2);
	CHECK_EQ_INT(rv, rv2);
	CHECK(w->len == w2.len && (w->len == 0 ||
				  memcmp(w->buf, w2.buf, w->len) == 0));
	jute_writer_free(&in);
	jute_writer_free(&w2);
	return rv;
}

static void test_fixup(void)
{
	struct auth_ids anon, two;
	CHECK_EQ_INT(auth_ids_init(&anon, "10.1.2.3"), 0);
	CHECK_EQ_INT(auth_ids_init(&two, "10.1.2.3"), 0);
	CHECK_EQ_INT(auth_add(&two, B("digest"), B("bob:secret"), NULL), 0);
	CHECK_EQ_INT(auth_add(&two, B("digest"), B("super:test"), NULL), 0);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	struct zk_acl out[8];

	/* world:anyone passes through. */
	struct zk_acl open[] = {A(ZK_PERM_ALL, "world", "anyone")};
	CHECK_EQ_INT(fixup(open, 1, &anon, &w), 0);
	CHECK_EQ_INT(decode(&w, 0, out, 8), 1);
	CHECK(acl_is(&out[0], ZK_PERM_ALL, "world", "anyone"));

	/* auth expands to every digest id, not the ip id. */
	struct zk_acl auth[] = {A(ZK_PERM_READ | ZK_PERM_ADMIN, "auth", ""),
				A(ZK_PERM_READ, "world", "anyone")};
	CHECK_EQ_INT(fixup(auth, 2, &two, &w), 0);
	CHECK_EQ_INT(decode(&w, 0, out, 8), 3);
	CHECK(acl_is(&out[0], ZK_PERM_READ | ZK_PERM_ADMIN, "digest",
		     "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="));
	CHECK(acl_is(&out[1], ZK_PERM_READ | ZK_PERM_ADMIN, "digest",
		     "super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
	CHECK(acl_is(&out[2], ZK_PERM_READ, "world", "anyone"));
	/* ... and is invalid without any digest id. */
	CHECK_EQ_INT(fixup(auth, 2, &anon, &w), ZK_INVALIDACL);
	CHECK_EQ_INT(w.len, 0);

	/* digest ids must be user:hash (Java's split(":") has 2 parts). */
	const char *dig_ok[] = {"bob:hash", ":hash", "bob:hash:", "bob:hash::"};
	for (size_t i = 0; i < sizeof dig_ok / sizeof dig_ok[0]; i++) {
		struct zk_acl a[] = {A(ZK_PERM_READ, "digest", dig_ok[i])};
		CHECK_EQ_INT(fixup(a, 1, &anon, &w), 0);
		CHECK_EQ_INT(decode(&w, 0, out, 8), 1);
	}
	const char *dig_bad[] = {"", "bob", "bob:", ":", "a:b:c", "::b"};
	for (size_t i = 0; i < sizeof dig_bad / sizeof dig_bad[0]; i++) {
		struct zk_acl a[] = {A(ZK_PERM_READ, "digest", dig_bad[i])};
		CHECK_EQ_INT(fixup(a, 1, &anon, &w), ZK_INVALIDACL);
	}

	/* ip ids must parse, bits within the family. */
	const char *ip_ok[] = {"1.2.3.4", "1.2.3.0/24", "0.0.0.0/0", "::1",
			       "2001:db8::/32", "::/128"};
	for (size_t i = 0; i < sizeof ip_ok / sizeof ip_ok[0]; i++) {
		struct zk_acl a[] = {A(ZK_PERM_READ, "ip", ip_ok[i])};
		CHECK_EQ_INT(fixup(a, 1, &anon, &w), 0);
	}
	const char *ip_bad[] = {"",          "1.2.3",     "1.2.3.4/33",
				"1.2.3.4/",  "1.2.3.4/-1", "1.2.3.256",
				"::/129",    "host.name", "1.2.3.4/8x",
				"1.2.3.4/1/2"};
	for (size_t i = 0; i < sizeof ip_bad / sizeof ip_bad[0]; i++) {
		struct zk_acl a[] = {A(ZK_PERM_READ, "ip", ip_bad[i])};
		CHECK_EQ_INT(fixup(a, 1, &anon, &w), ZK_INVALIDACL);
	}

	/* world is only world:anyone; unknown schemes are invalid. */
	const struct zk_acl bad[] = {
		A(ZK_PERM_READ, "world", "everyone"),
		A(ZK_PERM_READ, "world", ""),
		A(ZK_PERM_READ, "sasl", "bob"),
		A(ZK_PERM_READ, "x509", "CN=bob"),
		A(ZK_PERM_READ, "super", ""),
		A(ZK_PERM_READ, "", "anyone"),
		A(ZK_PERM_READ, "WORLD", "anyone"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(fixup(&bad[i], 1, &two, &w), ZK_INVALIDACL);
	struct zk_acl null_id[] = {{ZK_PERM_READ, {B("world"), {NULL, -1}}}};
	CHECK_EQ_INT(fixup(null_id, 1, &anon, &w), ZK_INVALIDACL);

	/* An empty list is invalid; one bad entry spoils the list. */
	CHECK_EQ_INT(fixup(NULL, 0, &anon, &w), ZK_INVALIDACL);
	struct zk_acl one_bad[] = {A(ZK_PERM_ALL, "world", "anyone"),
				   A(ZK_PERM_ALL, "digest", "nohash")};
	CHECK_EQ_INT(fixup(one_bad, 2, &anon, &w), ZK_INVALIDACL);

	/* Equal entries are kept once, in first-seen order; entries that
	 * differ only in perms are both kept. */
	struct zk_acl dups[] = {
		A(ZK_PERM_READ, "ip", "1.2.3.4"),
		A(ZK_PERM_ALL, "world", "anyone"),
		A(ZK_PERM_READ, "ip", "1.2.3.4"),
		A(ZK_PERM_WRITE, "ip", "1.2.3.4"),
		A(ZK_PERM_ALL, "world", "anyone"),
	};
	CHECK_EQ_INT(fixup(dups, 5, &anon, &w), 0);
	CHECK_EQ_INT(decode(&w, 0, out, 8), 3);
	CHECK(acl_is(&out[0], ZK_PERM_READ, "ip", "1.2.3.4"));
	CHECK(acl_is(&out[1], ZK_PERM_ALL, "world", "anyone"));
	CHECK(acl_is(&out[2], ZK_PERM_WRITE, "ip", "1.2.3.4"));

	/* Fixup appends, and on failure leaves what was there. */
	jute_writer_reset(&w);
	jute_put_int(&w, 0x11223344);
	struct zk_acl_list l = {1, open};
	CHECK_EQ_INT(auth_acl_fixup(&l, &anon, &w), 0);
	CHECK_EQ_INT(decode(&w, 4, out, 8), 1);
	size_t len = w.len;
	struct zk_acl_list lb = {1, &bad[0]};
	CHECK_EQ_INT(auth_acl_fixup(&lb, &anon, &w), ZK_INVALIDACL);
	CHECK_EQ_INT(w.len, len);

	/* A fixed writer too small for the result: ZK_NOMEM, restored. */
	uint8_t small[8];
	struct jute_writer fw;
	jute_writer_init_fixed(&fw, small, sizeof small);
	CHECK_EQ_INT(auth_acl_fixup(&l, &anon, &fw), ZK_NOMEM);
	CHECK_EQ_INT(fw.len, 0);

	/* The raw variant rejects bytes that are not a vector<ACL>. */
	const uint8_t junk[] = {0, 0, 0, 2, 0, 0, 0, 1};
	jute_writer_reset(&w);
	CHECK_EQ_INT(auth_acl_fixup_raw(zk_bytes_of(junk, sizeof junk), &anon,
					&w),
		     ZK_MALFORMED);

	jute_writer_free(&w);
	auth_ids_free(&anon);
	auth_ids_free(&two);
}

/* A mount caller: uid:/gid: ids replaced per call, entries of those
 * schemes accepted and matched only for it; root super only when asked. */
static void test_mount_caller(void)
{
	struct auth_ids me, net;
	CHECK_EQ_INT(auth_ids_init(&me, NULL), 0);
	CHECK_EQ_INT(auth_ids_init(&net, "10.1.2.3"), 0);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	struct zk_acl uid[] = {A(ZK_PERM_READ, "uid", "1000"),
			       A(ZK_PERM_WRITE, "gid", "77")};
	struct zk_acl_list l = {2, uid};

	/* the client port rejects the schemes, as an unknown one */
	CHECK_EQ_INT(fixup(uid, 2, &net, &w), ZK_INVALIDACL);
	CHECK(!auth_permits(&l, &net, ZK_PERM_READ));

	uint32_t groups[] = {5, 77};
	CHECK_EQ_INT(auth_ids_set_caller(&me, 1000, 20, groups, 2, false), 0);
	CHECK_EQ_INT(fixup(uid, 2, &me, &w), 0);
	CHECK(auth_permits(&l, &me, ZK_PERM_READ));
	CHECK(auth_permits(&l, &me, ZK_PERM_WRITE)); /* supplementary */
	CHECK(!auth_permits(&l, &me, ZK_PERM_ADMIN));

	/* the next call is someone else: nothing of the first remains */
	CHECK_EQ_INT(auth_ids_set_caller(&me, 1001, 77, NULL, 0, false), 0);
	CHECK(!auth_permits(&l, &me, ZK_PERM_READ));
	CHECK(auth_permits(&l, &me, ZK_PERM_WRITE)); /* primary group */
	CHECK_EQ_INT(auth_ids_set_caller(&me, 0, 0, NULL, 0, true), 0);
	CHECK(me.super && auth_permits(&l, &me, ZK_PERM_ADMIN));
	CHECK_EQ_INT(auth_ids_set_caller(&me, 0, 0, NULL, 0, false), 0);
	CHECK(!me.super && !auth_permits(&l, &me, ZK_PERM_ADMIN));

	/* ids are decimal numbers without leading zeros */
	struct zk_acl bad[] = {A(ZK_PERM_READ, "uid", "01")};
	CHECK_EQ_INT(fixup(bad, 1, &me, &w), ZK_INVALIDACL);
	struct zk_acl big[] = {A(ZK_PERM_READ, "gid", "4294967296")};
	CHECK_EQ_INT(fixup(big, 1, &me, &w), ZK_INVALIDACL);
	struct zk_acl name[] = {A(ZK_PERM_READ, "uid", "root")};
	CHECK_EQ_INT(fixup(name, 1, &me, &w), ZK_INVALIDACL);
	jute_writer_free(&w);
	auth_ids_free(&me);
	auth_ids_free(&net);
}

/* The identities a forwarded request carries survive the trip; bytes
 * that are not identities are refused and leave none. */
static void test_ids_codec(void)
{
	struct auth_ids a, b;
	CHECK_EQ_INT(auth_ids_init(&a, "10.1.2.3"), 0);
	uint32_t g[] = {7};
	CHECK_EQ_INT(auth_ids_set_caller(&a, 1000, 20, g, 1, false), 0);
	CHECK_EQ_INT(auth_add(&a, B("digest"), B("super:test"),
			      &(struct zabfs_config){
				      .super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="}),
		     0);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	auth_ids_encode(&a, &w);
	CHECK_EQ_INT(auth_ids_init(&b, NULL), 0);
	CHECK_EQ_INT(auth_ids_decode(&b, zk_bytes_of(w.buf, w.len)), 0);
	CHECK_EQ_INT((int)b.n, (int)a.n);
	CHECK(b.super && b.local);
	for (size_t i = 0; i < a.n && i < b.n; i++)
		CHECK(!strcmp(a.v[i].scheme, b.v[i].scheme) &&
		      !strcmp(a.v[i].id, b.v[i].id));
	for (size_t len = 0; len < w.len; len++)
		CHECK_EQ_INT(auth_ids_decode(&b, zk_bytes_of(w.buf, len)),
			     ZK_MALFORMED);
	CHECK_EQ_INT((int)b.n, 0);
	jute_put_byte(&w, 0);
	CHECK_EQ_INT(auth_ids_decode(&b, zk_bytes_of(w.buf, w.len)),
		     ZK_MALFORMED);
	jute_writer_reset(&w);
	jute_put_int(&w, 0);
	jute_put_int(&w, 1);
	jute_put_cstring(&w, "martian");
	jute_put_cstring(&w, "x");
	CHECK_EQ_INT(auth_ids_decode(&b, zk_bytes_of(w.buf, w.len)),
		     ZK_MALFORMED);
	jute_writer_free(&w);
	auth_ids_free(&a);
	auth_ids_free(&b);
}

static void test_masked(void)
{
	struct zk_acl v[] = {
		A(ZK_PERM_ALL, "digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="),
		A(ZK_PERM_READ, "world", "anyone"),
		A(ZK_PERM_READ, "ip", "10.0.0.0/8"),
		A(ZK_PERM_READ, "digest", ":hash"),
	};
	struct jute_writer in = encode(v, 4), w;
	jute_writer_init(&w, 0);
	struct zk_acl out[8];

	CHECK_EQ_INT(auth_acl_write_masked(zk_bytes_of(in.buf, in.len), true,
					   &w),
		     0);
	CHECK(w.len == in.len && memcmp(w.buf, in.buf, in.len) == 0);

	jute_writer_reset(&w);
	CHECK_EQ_INT(auth_acl_write_masked(zk_bytes_of(in.buf, in.len), false,
					   &w),
		     0);
	CHECK_EQ_INT(decode(&w, 0, out, 8), 4);
	CHECK(acl_is(&out[0], ZK_PERM_ALL, "digest", "bob:x"));
	CHECK(acl_is(&out[1], ZK_PERM_READ, "world", "anyone"));
	CHECK(acl_is(&out[2], ZK_PERM_READ, "ip", "10.0.0.0/8"));
	CHECK(acl_is(&out[3], ZK_PERM_READ, "digest", ":x"));

	/* Bytes that are not a vector<ACL>: ZK_CORRUPT, nothing written. */
	jute_writer_reset(&w);
	CHECK_EQ_INT(auth_acl_write_masked(zk_bytes_of(in.buf, in.len - 1),
					   false, &w),
		     ZK_CORRUPT);
	CHECK_EQ_INT(w.len, 0);
	jute_writer_free(&in);
	jute_writer_free(&w);
}

static void test_whoami(void)
{
	struct zabfs_config cfg = {0};
	cfg.super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
	struct auth_ids ids;
	CHECK_EQ_INT(auth_ids_init(&ids, "127.0.0.1"), 0);
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("bob:secret"), &cfg), 0);
	CHECK_EQ_INT(auth_add(&ids, B("digest"), B("super:test"), &cfg), 0);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	auth_whoami_write(&ids, &w);
	struct jute_reader r;
	jute_reader_init(&r, w.buf, w.len);
	CHECK_EQ_INT(jute_get_int(&r), 4);
	const char *want[][2] = {{"ip", "127.0.0.1"},
				 {"digest", "bob"},
				 {"digest", "super"},
				 {"super", ""}};
	for (int i = 0; i < 4; i++) {
		struct zk_bytes s = jute_get_buffer(&r);
		struct zk_bytes u = jute_get_buffer(&r);
		CHECK(s.len == (int32_t)strlen(want[i][0]) &&
		      memcmp(s.p, want[i][0], (size_t)s.len) == 0);
		CHECK(u.len == (int32_t)strlen(want[i][1]) &&
		      (u.len == 0 ||
		       memcmp(u.p, want[i][1], (size_t)u.len) == 0));
	}
	CHECK(jute_reader_done(&r));
	jute_writer_free(&w);
	auth_ids_free(&ids);
}

static void test_op_perm(void)
{
	bool parent;
	CHECK_EQ_INT(auth_op_perm(ZK_OP_CREATE, &parent), ZK_PERM_CREATE);
	CHECK(parent);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_CREATE2, &parent), ZK_PERM_CREATE);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_CREATE_CONTAINER, &parent),
		     ZK_PERM_CREATE);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_CREATE_TTL, &parent), ZK_PERM_CREATE);
	CHECK(parent);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_DELETE, &parent), ZK_PERM_DELETE);
	CHECK(parent);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_SET_DATA, &parent), ZK_PERM_WRITE);
	CHECK(!parent);
	const int reads[] = {ZK_OP_EXISTS, ZK_OP_GET_DATA, ZK_OP_GET_CHILDREN,
			     ZK_OP_GET_CHILDREN2, ZK_OP_CHECK,
			     ZK_OP_GET_ALL_CHILDREN_NUMBER};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		CHECK_EQ_INT(auth_op_perm(reads[i], &parent), ZK_PERM_READ);
		CHECK(!parent);
	}
	CHECK_EQ_INT(auth_op_perm(ZK_OP_GET_ACL, &parent),
		     ZK_PERM_READ | ZK_PERM_ADMIN);
	CHECK_EQ_INT(auth_op_perm(ZK_OP_SET_ACL, &parent), ZK_PERM_ADMIN);
	const int none[] = {ZK_OP_SYNC, ZK_OP_PING, ZK_OP_MULTI, ZK_OP_AUTH,
			    ZK_OP_SET_WATCHES, ZK_OP_CLOSE_SESSION,
			    ZK_OP_WHO_AM_I, ZK_OP_GET_EPHEMERALS, 9999};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		CHECK_EQ_INT(auth_op_perm(none[i], &parent), 0);
		CHECK(!parent);
	}
}

int main(void)
{
	RUN_TEST(test_digest);
	RUN_TEST(test_ids);
	RUN_TEST(test_mount_caller);
	RUN_TEST(test_ids_codec);
	RUN_TEST(test_permits);
	RUN_TEST(test_fixup);
	RUN_TEST(test_masked);
	RUN_TEST(test_whoami);
	RUN_TEST(test_op_perm);
	return check_report();
}
