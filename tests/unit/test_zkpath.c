/*
 * test_zkpath.c - path validation against ZooKeeper's PathUtils rules,
 * parent/basename, and the sequential suffix's formatting.
 */
#include "check.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/zkpath.h"

struct path_case {
	const char *path; /* UTF-8 bytes */
	size_t len;       /* 0: strlen(path) */
	int want;
};

#define OK(s) {s, 0, 0}
#define BAD(s) {s, 0, ZK_BADARGUMENTS}
#define BADN(s, n) {s, n, ZK_BADARGUMENTS}

static const struct path_case path_cases[] = {
	/* valid */
	OK("/"), OK("/a"), OK("/a/b/c"), OK("/zookeeper"),
	OK("/zookeeper/quota"), OK("/a/..."), OK("/a/.b"), OK("/a/b."),
	OK("/..a"), OK("/a..b"), OK("/ "), OK("/a b"), OK("/-_~!@#$%^&*()"),
	OK("/\xc2\xa0"),             /* U+00A0, first after the C1 range */
	OK("/caf\xc3\xa9"),          /* U+00E9 */
	OK("/\xe2\x82\xac"),         /* U+20AC euro */
	OK("/\xed\x9f\xbf"),         /* U+D7FF, last before surrogates */
	OK("/\xef\xa4\x80"),         /* U+F900, first after private use */
	OK("/\xef\xbf\xaf"),         /* U+FFEF, last before U+FFF0 */
	OK("/\xe4\xb8\xad\xe6\x96\x87"), /* CJK */
	/* structure */
	BAD(""), BAD("a"), BAD("a/b"), BAD("/a/"), BAD("//"), BAD("/a//b"),
	BAD("///"), BAD("/."), BAD("/.."), BAD("/a/."), BAD("/a/.."),
	BAD("/a/./b"), BAD("/a/../b"), BAD("/./a"), BAD("/../a"),
	BAD("/a/b/"), BAD(" /a"),
	/* forbidden characters */
	BADN("/\0", 2), BADN("/a\0b", 4), BAD("/\x01"), BAD("/a\x1f"),
	BAD("/\x7f"),
	BAD("/\xc2\x80"),            /* U+0080 */
	BAD("/\xc2\x9f"),            /* U+009F */
	BAD("/\xee\x80\x80"),        /* U+E000 private use */
	BAD("/\xef\xa3\xbf"),        /* U+F8FF */
	BAD("/\xef\xbf\xb0"),        /* U+FFF0 */
	BAD("/\xef\xbf\xbd"),        /* U+FFFD replacement char */
	BAD("/\xef\xbf\xbf"),        /* U+FFFF */
	BAD("/emoji\xf0\x9f\x98\x80"), /* U+1F600: a surrogate pair in Java */
	BAD("/\xf0\x90\x80\x80"),    /* U+10000 */
	/* malformed UTF-8 (Java decodes it to U+FFFD) */
	BAD("/\x80"), BAD("/\xbf"), BAD("/\xc0\x80"), /* overlong NUL */
	BAD("/\xc1\xbf"), BAD("/\xe0\x80\xaf"),      /* overlong '/' */
	BAD("/\xed\xa0\x80"),        /* encoded surrogate U+D800 */
	BAD("/\xc3"), BAD("/\xe2\x82"), BAD("/\xc3/a"), BAD("/\xc3\x28"),
	BAD("/\xf5\x80\x80\x80"), BAD("/\xf4\x90\x80\x80"), /* > U+10FFFF */
	BAD("/\xff"), BAD("/\xfe"),
};

static void test_validate(void)
{
	size_t n = sizeof(path_cases) / sizeof(path_cases[0]);
	for (size_t i = 0; i < n; i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = c->len ? c->len : strlen(c->path);
		/* A heap copy of exactly len bytes: ASan sees over-reads. */
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, c->path, len);
		int rc = zk_path_validate(zk_bytes_of(p, len));
		if (rc != c->want)
			fprintf(stderr, "case %zu: \"%s\"\n", i, c->path);
		CHECK_EQ_INT(rc, c->want);
		free(p);
	}
	struct zk_bytes null = {NULL, -1};
	CHECK_EQ_INT(zk_path_validate(null), ZK_BADARGUMENTS);
}

static void check_split(const char *path, const char *parent,
			const char *base)
{
	struct zk_bytes p = zk_bytes_of(path, strlen(path));
	struct zk_bytes par = zk_path_parent(p);
	struct zk_bytes b = zk_path_basename(p);
	if (parent) {
		CHECK_EQ_INT(par.len, strlen(parent));
		CHECK(par.p == p.p && memcmp(par.p, parent, strlen(parent)) == 0);
	} else {
		CHECK_EQ_INT(par.len, -1);
	}
	CHECK_EQ_INT(b.len, strlen(base));
	CHECK(b.p + b.len == p.p + p.len);
	CHECK(memcmp(b.p, base, strlen(base)) == 0);
}

static void test_parent_basename(void)
{
	check_split("/", NULL, "");
	check_split("/a", "/", "a");
	check_split("/a/b", "/a", "b");
	check_split("/abc/de/fgh", "/abc/de", "fgh");
	check_split("/q/0000000003", "/q", "0000000003");
	struct zk_bytes null = {NULL, -1};
	CHECK_EQ_INT(zk_path_parent(null).len, -1);
	CHECK_EQ_INT(zk_path_basename(null).len, 0);
}

static void check_suffix(int32_t seq, const char *want)
{
	char buf[ZK_SEQ_SUFFIX_SIZE];
	size_t n = zk_path_seq_suffix(buf, seq);
	CHECK_EQ_INT(n, strlen(want));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "suffix %d: got %s want %s\n", seq, buf, want);
	CHECK(strcmp(buf, want) == 0);
}

static void test_seq_suffix(void)
{
	/* Java: String.format("%010d", n) */
	check_suffix(0, "0000000000");
	check_suffix(1, "0000000001");
	check_suffix(42, "0000000042");
	check_suffix(1234567890, "1234567890");
	check_suffix(2147483647, "2147483647");
	check_suffix(-1, "-000000001");
	check_suffix(-42, "-000000042");
	check_suffix(-123456789, "-123456789");
	check_suffix(-1234567890, "-1234567890");
	check_suffix(INT32_MIN, "-2147483648");
	/* create("/q/", sequential) names "/q/" + suffix: always valid. */
	char path[3 + ZK_SEQ_SUFFIX_SIZE] = "/q/";
	size_t n = zk_path_seq_suffix(path + 3, INT32_MIN);
	CHECK_EQ_INT(zk_path_validate(zk_bytes_of(path, 3 + n)), 0);
}

int main(void)
{
	RUN_TEST(test_validate);
	RUN_TEST(test_parent_basename);
	RUN_TEST(test_seq_suffix);
	return check_report();
}
