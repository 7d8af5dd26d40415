/*
 * test_config.c - zoo.cfg parsing: defaults, every key good and bad,
 * warnings, server lines, myid, client port rules, the 4lw whitelist.
 * Each case writes a zoo.cfg (and myid) into a fresh temporary directory.
 */
#include "check.h"
#include "zabfs/config.h"
#include "zabfs/err.h"

#include <stdarg.h>
#include <unistd.h>

static char dir[64];
static char cfg_path[128];
static char myid_path[128];
static char err[512];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(text, 1, strlen(text), f);
	fclose(f);
}

static void set_myid(const char *text)
{
	if (text)
		write_file(myid_path, text);
	else
		unlink(myid_path);
}

/* Loads "tickTime=2000\ndataDir=<dir>\n" followed by the formatted lines. */
static int load(struct zabfs_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int load(struct zabfs_config *cfg, const char *fmt, ...)
{
	char body[4096], text[4200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	snprintf(text, sizeof text, "tickTime=2000\ndataDir=%s\n%s", dir, body);
	write_file(cfg_path, text);
	return config_load(cfg_path, cfg, err, sizeof err);
}

/* Loads exactly text (no base lines). */
static int load_raw(struct zabfs_config *cfg, const char *text)
{
	write_file(cfg_path, text);
	return config_load(cfg_path, cfg, err, sizeof err);
}

static bool err_has(const char *what)
{
	if (strstr(err, what))
		return true;
	fprintf(stderr, "error '%s' lacks '%s'\n", err, what);
	return false;
}

static bool warned(const struct zabfs_config *cfg, const char *what)
{
	for (size_t i = 0; i < cfg->n_warnings; i++)
		if (strstr(cfg->warnings[i], what))
			return true;
	fprintf(stderr, "no warning with '%s' (%zu warnings)\n", what,
		cfg->n_warnings);
	return false;
}

/* A load that must fail with a message holding each of the words. */
static void check_bad(const char *lines, const char *w1, const char *w2)
{
	struct zabfs_config cfg;
	int rv = load(&cfg, "%s", lines);
	CHECK_EQ_INT(rv, ZK_CONFIG);
	if (rv == 0)
		config_free(&cfg);
	CHECK(err_has(w1));
	if (w2)
		CHECK(err_has(w2));
	CHECK_EQ_INT(cfg.n_servers, 0); /* nothing left to free */
}

static void test_defaults(void)
{
	struct zabfs_config c;
	CHECK_EQ_INT(load(&c, "%s", ""), 0);
	CHECK_EQ_INT(c.tick_ms, 2000);
	CHECK_EQ_INT(c.init_limit, 10);
	CHECK_EQ_INT(c.sync_limit, 5);
	CHECK(strcmp(c.data_dir, dir) == 0);
	CHECK(strcmp(c.data_log_dir, dir) == 0);
	CHECK_EQ_INT(c.client_port, 0);
	CHECK(strcmp(c.client_addr, "0.0.0.0") == 0);
	CHECK_EQ_INT(c.max_client_cnxns, 60);
	CHECK_EQ_INT(c.min_session_timeout_ms, 4000);
	CHECK_EQ_INT(c.max_session_timeout_ms, 40000);
	CHECK_EQ_INT(c.snap_count, 100000);
	CHECK_EQ_INT(c.snap_retain_count, 3);
	CHECK_EQ_INT(c.purge_interval_h, 1);
	CHECK_EQ_INT(c.prealloc_bytes, 64 * 1024 * 1024);
	CHECK(c.force_sync);
	CHECK_EQ_INT(c.jute_maxbuffer, 0xfffff);
	CHECK(!c.extended_types);
	CHECK_EQ_INT(c.n_servers, 0);
	CHECK_EQ_INT(c.myid, 1);
	CHECK(!c.observer);
	CHECK(c.super_digest == NULL);
	CHECK(c.mount_point == NULL);
	CHECK(c.peer_secret == NULL);
	CHECK_EQ_INT(c.n_warnings, 0);
	CHECK(config_4lw_allowed(&c, "srvr"));
	CHECK(!config_4lw_allowed(&c, "mntr"));
	CHECK(!config_4lw_allowed(&c, "ruok"));
	config_free(&c);
	CHECK(c.data_dir == NULL);
	config_free(&c); /* safe on a zeroed struct */
}

static void test_every_key(void)
{
	struct zabfs_config c;
	int rv = load(&c,
		      "initLimit=7\n"
		      "syncLimit=3\n"
		      "dataLogDir=/var/log/zk\n"
		      "clientPort=2181\n"
		      "clientPortAddress=127.0.0.1\n"
		      "maxClientCnxns=0\n"
		      "minSessionTimeout=3000\n"
		      "maxSessionTimeout=90000\n"
		      "snapCount=5000\n"
		      "autopurge.snapRetainCount=5\n"
		      "autopurge.purgeInterval=0\n"
		      "4lw.commands.whitelist=mntr, ruok ,stat\n"
		      "forceSync=no\n"
		      "preAllocSize=1024\n"
		      "jute.maxbuffer=0x200000\n"
		      "zookeeper.extendedTypesEnabled=true\n"
		      "DigestAuthenticationProvider.superDigest="
		      "super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
		      "DigestAuthenticationProvider.digestAlg=SHA1\n"
		      "mountPoint=/mnt/zk\n"
		      "peerSecret=s3cret\n"
		      "peerType=participant\n");
	CHECK_EQ_INT(rv, 0);
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ_INT(c.init_limit, 7);
	CHECK_EQ_INT(c.sync_limit, 3);
	CHECK(strcmp(c.data_log_dir, "/var/log/zk") == 0);
	CHECK_EQ_INT(c.client_port, 2181);
	CHECK(strcmp(c.client_addr, "127.0.0.1") == 0);
	CHECK_EQ_INT(c.max_client_cnxns, 0);
	CHECK_EQ_INT(c.min_session_timeout_ms, 3000);
	CHECK_EQ_INT(c.max_session_timeout_ms, 90000);
	CHECK_EQ_INT(c.snap_count, 5000);
	CHECK_EQ_INT(c.snap_retain_count, 5);
	CHECK_EQ_INT(c.purge_interval_h, 0);
	CHECK(config_4lw_allowed(&c, "mntr"));
	CHECK(config_4lw_allowed(&c, "ruok"));
	CHECK(config_4lw_allowed(&c, "stat"));
	CHECK(config_4lw_allowed(&c, "srvr"));
	CHECK(!config_4lw_allowed(&c, "dump"));
	CHECK(!config_4lw_allowed(&c, "nope"));
	CHECK(!c.force_sync);
	CHECK_EQ_INT(c.prealloc_bytes, 1024 * 1024);
	CHECK_EQ_INT(c.jute_maxbuffer, 0x200000);
	CHECK(c.extended_types);
	CHECK(strcmp(c.super_digest, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=") ==
	      0);
	CHECK(strcmp(c.mount_point, "/mnt/zk") == 0);
	CHECK(strcmp(c.peer_secret, "s3cret") == 0);
	CHECK_EQ_INT(c.n_warnings, 0);
	config_free(&c);

	/* The other spellings of the aliased keys. */
	CHECK_EQ_INT(load(&c, "extendedTypesEnabled=TRUE\n"
			      "zookeeper.DigestAuthenticationProvider."
			      "superDigest=bob:fyVmFCwVbTJYrznoSu1koqYEYF0=\n"
			      "zookeeper.4lw.commands.whitelist=*\n"
			      "jute.maxbuffer=0xFFFFF\n"
			      "zookeeper.forceSync=yes\n"
			      "zookeeper.preAllocSize=8\n"
			      "minSessionTimeout=-1\nmaxSessionTimeout=-1\n"),
		     0);
	CHECK(c.extended_types);
	CHECK(strcmp(c.super_digest, "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=") == 0);
	CHECK(config_4lw_allowed(&c, "dump"));
	CHECK(config_4lw_allowed(&c, "hash"));
	CHECK(!config_4lw_allowed(&c, "xxxx"));
	CHECK_EQ_INT(c.jute_maxbuffer, 0xfffff);
	CHECK(c.force_sync);
	CHECK_EQ_INT(c.prealloc_bytes, 8192);
	CHECK_EQ_INT(c.min_session_timeout_ms, 4000);
	CHECK_EQ_INT(c.max_session_timeout_ms, 40000);
	config_free(&c);
}

static void test_bad_values(void)
{
	check_bad("tickTime=abc\n", "tickTime: 'abc' is not a positive integer",
		  ":3:");
	check_bad("tickTime=0\n", "tickTime: '0'", NULL);
	check_bad("tickTime=-5\n", "tickTime: '-5'", NULL);
	check_bad("tickTime=99999999999\n", "tickTime", NULL);
	check_bad("tickTime=20 00\n", "tickTime: '20 00'", NULL);
	check_bad("initLimit=0\n", "initLimit: '0'", NULL);
	check_bad("syncLimit=x\n", "syncLimit: 'x'", NULL);
	check_bad("dataDir=\n", "dataDir: empty", NULL);
	check_bad("dataLogDir=\n", "dataLogDir: empty", NULL);
	check_bad("clientPort=0\n", "clientPort: '0'", "1..65535");
	check_bad("clientPort=65536\n", "clientPort: '65536'", NULL);
	check_bad("clientPort=21a\n", "clientPort: '21a'", NULL);
	check_bad("clientPortAddress=\n", "clientPortAddress", NULL);
	check_bad("maxClientCnxns=-1\n", "maxClientCnxns: '-1'",
		  "non-negative");
	check_bad("minSessionTimeout=0\n", "minSessionTimeout: '0'", NULL);
	check_bad("maxSessionTimeout=ten\n", "maxSessionTimeout: 'ten'", NULL);
	check_bad("minSessionTimeout=50000\n", "minSessionTimeout 50000",
		  "maxSessionTimeout 40000");
	check_bad("minSessionTimeout=5000\nmaxSessionTimeout=4000\n",
		  "larger than", NULL);
	check_bad("snapCount=x\n", "snapCount: 'x'", NULL);
	check_bad("autopurge.snapRetainCount=three\n",
		  "autopurge.snapRetainCount: 'three'", NULL);
	check_bad("autopurge.purgeInterval=-1\n",
		  "autopurge.purgeInterval: '-1'", NULL);
	check_bad("peerType=voter\n", "peerType: 'voter'", NULL);
	check_bad("forceSync=maybe\n", "forceSync: 'maybe'", NULL);
	check_bad("forceSync=true\n", "forceSync: 'true'", NULL);
	check_bad("preAllocSize=0\n", "preAllocSize: '0'", NULL);
	check_bad("jute.maxbuffer=0xzz\n", "jute.maxbuffer: '0xzz'", NULL);
	check_bad("jute.maxbuffer=0\n", "jute.maxbuffer: '0'", NULL);
	check_bad("jute.maxbuffer=0x80000000\n", "jute.maxbuffer", NULL);
	check_bad("extendedTypesEnabled=yes\n", "extendedTypesEnabled: 'yes'",
		  NULL);
	check_bad("DigestAuthenticationProvider.superDigest=super:short\n",
		  "superDigest: 'super:short'", NULL);
	check_bad("DigestAuthenticationProvider.superDigest="
		  ":D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
		  "superDigest", NULL);
	check_bad("DigestAuthenticationProvider.superDigest="
		  "super:D/InIHSb7yEEbrWz8b9l71RjZJU\n",
		  "superDigest", NULL);
	check_bad("DigestAuthenticationProvider.superDigest="
		  "super:D/InIHSb7yEEbrWz8b9l71RjZJ?=\n",
		  "superDigest", NULL);
	check_bad("DigestAuthenticationProvider.digestAlg=SHA-256\n",
		  "digestAlg: 'SHA-256'", NULL);
	check_bad("mountPoint=mnt\n", "mountPoint: 'mnt'", "absolute");
	check_bad("peerSecret=\n", "peerSecret", NULL);
	check_bad("4lw.commands.whitelist=mntr\\\n", "continuation", NULL);
}

static void test_syntax(void)
{
	struct zabfs_config c;
	/* Comments, blanks, whitespace, CRLF, '=' inside a value. */
	char text[512];
	snprintf(text, sizeof text,
		 "# a comment\r\n"
		 "! another = comment\r\n"
		 "\r\n"
		 "   \t\r\n"
		 "  tickTime  =  3000  \r\n"
		 "\tdataDir=%s\r\n"
		 "peerSecret = a=b \r\n",
		 dir);
	CHECK_EQ_INT(load_raw(&c, text), 0);
	CHECK_EQ_INT(c.tick_ms, 3000);
	CHECK(strcmp(c.data_dir, dir) == 0);
	CHECK(strcmp(c.peer_secret, "a=b") == 0);
	config_free(&c);

	CHECK_EQ_INT(load_raw(&c, "tickTime=1\n"), ZK_CONFIG);
	CHECK(err_has("dataDir is required"));
	CHECK_EQ_INT(load_raw(&c, "dataDir=/x\n"), ZK_CONFIG);
	CHECK(err_has("tickTime is required"));
	CHECK_EQ_INT(load_raw(&c, "tickTime 2000\n"), ZK_CONFIG);
	CHECK(err_has(":1: 'tickTime 2000' is not key=value"));
	CHECK_EQ_INT(load_raw(&c, "\n=5\n"), ZK_CONFIG);
	CHECK(err_has(":2: empty key"));
	FILE *f = fopen(cfg_path, "wb");
	fwrite("tickTime=1\0\ndataDir=/x\n", 1, 23, f);
	fclose(f);
	CHECK_EQ_INT(config_load(cfg_path, &c, err, sizeof err), ZK_CONFIG);
	CHECK(err_has("NUL"));
	CHECK_EQ_INT(config_load("/nonexistent/zoo.cfg", &c, err, sizeof err),
		     ZK_CONFIG);
	CHECK(err_has("/nonexistent/zoo.cfg: cannot read"));
	/* No error buffer at all. */
	CHECK_EQ_INT(config_load("/nonexistent/zoo.cfg", &c, NULL, 0),
		     ZK_CONFIG);
	/* A small buffer is truncated, not overrun. */
	char tiny[8];
	CHECK_EQ_INT(config_load("/nonexistent/zoo.cfg", &c, tiny, sizeof tiny),
		     ZK_CONFIG);
	CHECK_EQ_INT(strlen(tiny), 7);
}

static void test_warnings(void)
{
	struct zabfs_config c;
	CHECK_EQ_INT(load(&c, "foo.bar=1\n"
			      "tickTime=1000\n"
			      "4lw.commands.whitelist=mntr,bogus,,\n"
			      "autopurge.snapRetainCount=1\n"
			      "snapCount=1\n"
			      "skipACL=yes\n"
			      "ssl.keyStore.location=/x\n"),
		     0);
	CHECK(warned(&c, ":3: unknown key 'foo.bar' ignored"));
	CHECK(warned(&c, ":4: tickTime set again (line 1)"));
	CHECK_EQ_INT(c.tick_ms, 1000);
	CHECK(warned(&c, "unknown command 'bogus'"));
	CHECK(config_4lw_allowed(&c, "mntr"));
	CHECK(warned(&c, "autopurge.snapRetainCount: '1' is below"));
	CHECK_EQ_INT(c.snap_retain_count, 3);
	CHECK(warned(&c, "snapCount: '1' is below"));
	CHECK_EQ_INT(c.snap_count, 2);
	CHECK(warned(&c, "skipACL ignored"));
	CHECK(warned(&c, "TLS is not supported"));
	CHECK_EQ_INT(c.n_warnings, 7);
	config_free(&c);

	/* Known keys zabfs ignores: silently. */
	CHECK_EQ_INT(load(&c, "standaloneEnabled=false\n"
			      "admin.enableServer=false\n"
			      "admin.serverPort=8081\n"
			      "metricsProvider.httpPort=7000\n"
			      "globalOutstandingLimit=1000\n"
			      "reconfigEnabled=false\n"
			      "sslQuorum=false\n"
			      "znode.container.checkIntervalMs=1000\n"),
		     0);
	CHECK_EQ_INT(c.n_warnings, 0);
	config_free(&c);

	/* Known keys whose feature is missing: refused. */
	check_bad("reconfigEnabled=true\n", "reconfigEnabled: 'true'",
		  "not supported");
	check_bad("sslQuorum=true\n", "sslQuorum", "TLS");
	check_bad("enforce.auth.enabled=true\n", "enforce.auth.enabled",
		  NULL);
	check_bad("secureClientPort=2281\n", "secureClientPort", "TLS");
	check_bad("dynamicConfigFile=/x\n", "dynamicConfigFile", NULL);
	check_bad("group.1=1:2:3\n", "group.1", "hierarchical");
	check_bad("weight.1=1\n", "weight.1", "hierarchical");
}

static void test_four_lw(void)
{
	struct zabfs_config c;
	CHECK_EQ_INT(load(&c, "4lw.commands.whitelist=\n"), 0);
	CHECK(config_4lw_allowed(&c, "srvr"));
	CHECK(!config_4lw_allowed(&c, "ruok"));
	config_free(&c);
	CHECK_EQ_INT(load(&c, "4lw.commands.whitelist=ruok, *\n"), 0);
	const char *all[] = {"conf", "cons", "crst", "dirs", "dump", "envi",
			     "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
			     "wchc", "wchp", "wchs", "mntr", "isro", "hash"};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		CHECK(config_4lw_allowed(&c, all[i]));
	CHECK(!config_4lw_allowed(&c, "MNTR"));
	CHECK(!config_4lw_allowed(&c, ""));
	config_free(&c);
}

#define THREE                                                                \
	"initLimit=5\nsyncLimit=2\n"                                         \
	"server.1=zk1.example:2888:3888\n"                                   \
	"server.2=10.0.0.2:2888:3888:participant;2181\n"                     \
	"server.3=[fe80::1]:2888:3888:observer;127.0.0.1:2182\n"

static void test_servers(void)
{
	struct zabfs_config c;
	set_myid("2\n");
	CHECK_EQ_INT(load(&c, THREE), 0);
	CHECK_EQ_INT(c.n_servers, 3);
	CHECK_EQ_INT(c.myid, 2);
	const struct zabfs_config_server *s = c.servers;
	CHECK(s[0].id == 1 && strcmp(s[0].host, "zk1.example") == 0 &&
	      s[0].peer_port == 2888 && s[0].election_port == 3888 &&
	      !s[0].observer && s[0].client_port == 0 && !s[0].client_addr);
	CHECK(s[1].id == 2 && strcmp(s[1].host, "10.0.0.2") == 0 &&
	      !s[1].observer && s[1].client_port == 2181 && !s[1].client_addr);
	CHECK(s[2].id == 3 && strcmp(s[2].host, "fe80::1") == 0 &&
	      s[2].observer && s[2].client_port == 2182 &&
	      strcmp(s[2].client_addr, "127.0.0.1") == 0);
	/* This node's client port comes from its server line. */
	CHECK_EQ_INT(c.client_port, 2181);
	CHECK(strcmp(c.client_addr, "0.0.0.0") == 0);
	CHECK(!c.observer);
	config_free(&c);

	/* The observer takes its role and client address from its line. */
	set_myid("  3  \n");
	CHECK_EQ_INT(load(&c, THREE "peerType=observer\n"), 0);
	CHECK(c.observer);
	CHECK_EQ_INT(c.client_port, 2182);
	CHECK(strcmp(c.client_addr, "127.0.0.1") == 0);
	CHECK_EQ_INT(c.n_warnings, 0);
	config_free(&c);
	/* peerType disagreeing with the line: the line wins, a warning. */
	CHECK_EQ_INT(load(&c, THREE "peerType=participant\n"), 0);
	CHECK(c.observer);
	CHECK(warned(&c, "peerType participant differs from server.3"));
	config_free(&c);

	/* Servers are sorted by id; client port rules. */
	set_myid("2");
	CHECK_EQ_INT(load(&c, "initLimit=5\nsyncLimit=2\n"
			      "server.2=[::1]:2889:3889;[::1]:2181\n"
			      "server.1=h:2888:3888\n"
			      "clientPort=2181\nclientPortAddress=::1\n"),
		     0);
	CHECK(c.servers[0].id == 1 && c.servers[1].id == 2);
	CHECK(strcmp(c.servers[1].client_addr, "::1") == 0);
	CHECK_EQ_INT(c.client_port, 2181);
	config_free(&c);
	check_bad("initLimit=5\nsyncLimit=2\nserver.1=h:1:2\n"
		  "server.2=h:3:4;2181\nclientPort=2182\n",
		  "clientPort 2182 differs", "2181 of server.2");
	check_bad("initLimit=5\nsyncLimit=2\nserver.1=h:1:2\n"
		  "server.2=h:3:4;10.0.0.1:2181\nclientPortAddress=10.0.0.2\n",
		  "clientPortAddress 10.0.0.2 differs", NULL);
	check_bad("clientPortAddress=127.0.0.1\n",
		  "clientPortAddress is set but clientPort is not", NULL);

	/* Bad server lines. */
	const char *bad[][2] = {
		{"server.0=h:1:2\n", "server.0: '0' is not a server id"},
		{"server.255=h:1:2\n", "server.255"},
		{"server.x=h:1:2\n", "server.x"},
		{"server.=h:1:2\n", "server."},
		{"server.-1=h:1:2\n", "server.-1"},
		{"server.1=h:1\n", "bad peer port"},
		{"server.1=h:1:\n", "bad election port"},
		{"server.1=h\n", "bad host"},
		{"server.1=:1:2\n", "bad host"},
		{"server.1=h:x:2\n", "bad peer port"},
		{"server.1=h:1:70000\n", "bad election port"},
		{"server.1=h:1:2:voter\n", "role"},
		{"server.1=h:1:2:observer:x\n", "role"},
		{"server.1=fe80::1:2888:3888\n", "bad peer port"},
		{"server.1=[fe80::1:2888:3888\n", "bad host"},
		{"server.1=h:1:2;\n", "bad client port"},
		{"server.1=h:1:2;x\n", "bad client port"},
		{"server.1=h:1:2;:2181\n", "bad client address"},
		{"server.1=h:1:2;a:b\n", "bad client port"},
		{"server.1=a:1:2|b:1:2\n", "multiple addresses"},
		{"server.1=h:1:2\nserver.01=h:3:4\n", "1 is given twice"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_bad(bad[i][0], bad[i][1], NULL);

	/* Cluster rules. */
	set_myid("1");
	check_bad("server.1=h:1:2\nserver.2=h:3:4\nsyncLimit=2\n",
		  "initLimit is required", NULL);
	check_bad("server.1=h:1:2\nserver.2=h:3:4\ninitLimit=2\n",
		  "syncLimit is required", NULL);
	check_bad("server.1=h:1:2:observer\n", "every server is an observer",
		  NULL);
	check_bad("peerType=observer\n", "no server.N lines", NULL);
	set_myid(NULL);
}

static void test_myid(void)
{
	struct zabfs_config c;
	/* Two or more servers: myid is required and must be valid. */
	set_myid(NULL);
	check_bad(THREE, "/myid: cannot read", NULL);
	CHECK(err_has(dir));
	set_myid("abc\n");
	check_bad(THREE, "/myid: 'abc' is not a server id", NULL);
	set_myid("2 2\n");
	check_bad(THREE, "'2 2'", NULL);
	set_myid("");
	check_bad(THREE, "/myid: '' is not a server id", NULL);
	set_myid("4\n");
	check_bad(THREE, "id 4 has no server.4 line", NULL);
	set_myid("255\n");
	check_bad(THREE, "'255' is not a server id in 1..254", NULL);

	/* One server: myid is optional and must match when present. */
	set_myid(NULL);
	CHECK_EQ_INT(load(&c, "server.7=h:1:2;2181\n"), 0);
	CHECK_EQ_INT(c.myid, 7);
	CHECK_EQ_INT(c.client_port, 2181);
	config_free(&c);
	set_myid("7");
	CHECK_EQ_INT(load(&c, "server.7=h:1:2\n"), 0);
	CHECK_EQ_INT(c.myid, 7);
	config_free(&c);
	set_myid("3");
	check_bad("server.7=h:1:2\n", "id 3 has no server.3 line", NULL);

	/* No servers: myid is 1 and the file is not read. */
	set_myid("junk");
	CHECK_EQ_INT(load(&c, "%s", ""), 0);
	CHECK_EQ_INT(c.myid, 1);
	config_free(&c);

	/* 255 is refused: its sessions would look like TTL owners. */
	set_myid("254");
	CHECK_EQ_INT(load(&c, "server.254=h:1:2\n"), 0);
	CHECK_EQ_INT(c.myid, 254);
	config_free(&c);
	check_bad("server.255=h:1:2\n", "server.255: '255'", "1..254");
	set_myid(NULL);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/zabfs-test-config-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfg_path, sizeof cfg_path, "%s/zoo.cfg", dir);
	snprintf(myid_path, sizeof myid_path, "%s/myid", dir);

	RUN_TEST(test_defaults);
	RUN_TEST(test_every_key);
	RUN_TEST(test_bad_values);
	RUN_TEST(test_syntax);
	RUN_TEST(test_warnings);
	RUN_TEST(test_four_lw);
	RUN_TEST(test_servers);
	RUN_TEST(test_myid);

	unlink(cfg_path);
	unlink(myid_path);
	rmdir(dir);
	return check_report();
}
