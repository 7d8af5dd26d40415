/*
 * config.c - zoo.cfg and myid into struct zabfs_config (zabfs/config.h).
 *
 * Design
 *   Three passes, each simple:
 *     1. read_entries: the file into (key, value, line) entries; a key given
 *        twice keeps its last value and adds a warning (Java properties keep
 *        the last value too).
 *     2. apply_entry: each entry through the key table (keys[]) to its parser,
 *        which checks the value and stores it in the config; known keys zabfs
 *        does not implement go through the same table with a policy instead
 *        of a parser; anything else is a warning.
 *     3. finish: defaults that depend on other keys, cross-key rules, myid,
 *        this node's role and client port.
 *   Every failure writes one line into the caller's err buffer and returns
 *   ZK_CONFIG; config_load then frees whatever was built.
 *
 * Invariants
 *   1. Entries are applied in file order, so a parser may rely only on its own
 *      value; everything that combines keys is in finish().
 *   2. A string field of the config is either NULL or owned by the config.
 */
#include "zabfs/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zabfs/err.h"
#include "zabfs/types.h"

#define CONFIG_MAX_FILE (1 << 20) /* zoo.cfg and myid larger than this: error */
/* Ids are 1..254, not ZooKeeper's 1..255 with extended types off: a session
 * id carries its server's id in the top byte, and 0xFF there is how a TTL
 * node's ephemeralOwner is told apart (types.h), whatever the config. */
#define SERVER_ID_MAX 254
#define SNAP_RETAIN_MIN 3 /* ZooKeeper's PurgeTxnLog minimum */
#define SNAP_COUNT_MIN 2  /* ZooKeeper's ZooKeeperServer.setSnapCount */
#define SERVER_FORMAT                                                        \
	"host:peerport:electionport[:participant|:observer]"                 \
	"[;[clientaddr:]clientport]"

/* The four-letter words ZooKeeper knows; bit i of four_lw_mask is words[i]. */
static const char *const four_lw_words[] = {
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
	"srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
};
#define FOUR_LW_COUNT (sizeof four_lw_words / sizeof four_lw_words[0])

struct entry {
	char *key;   /* owned by the loader */
	char *value; /* owned by the loader */
	int line;
};

/* The state of one config_load call. */
struct loader {
	const char *path;
	char *err;
	size_t errlen;
	int line; /* of the entry being applied; 0 outside pass 2 */
	struct zabfs_config *cfg;

	struct entry *entries;
	size_t n_entries;

	/* Keys finish() needs to know were given (for the others, a field
	 * still 0 or NULL says "not given"). */
	int32_t min_session; /* -1 = default */
	int32_t max_session; /* -1 = default */
	int peer_type;       /* -1 not given, 0 participant, 1 observer */
};

static int fail(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int warn(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "path[:line]: message" into the caller's buffer. */
static int fail(struct loader *ld, const char *fmt, ...)
{
	if (ld->errlen == 0)
		return ZK_CONFIG;
	int n = ld->line > 0 ? snprintf(ld->err, ld->errlen, "%s:%d: ",
					ld->path, ld->line)
			     : snprintf(ld->err, ld->errlen, "%s: ", ld->path);
	if (n >= 0 && (size_t)n < ld->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ZK_CONFIG;
}

/* Adds "path[:line]: message" to cfg->warnings.  0 or ZK_NOMEM. */
static int warn(struct loader *ld, const char *fmt, ...)
{
	char *msg, *line;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ZK_NOMEM;
	n = ld->line > 0 ? asprintf(&line, "%s:%d: %s", ld->path, ld->line, msg)
			 : asprintf(&line, "%s: %s", ld->path, msg);
	free(msg);
	if (n < 0)
		return ZK_NOMEM;
	struct zabfs_config *cfg = ld->cfg;
	char **w = realloc(cfg->warnings,
			   (cfg->n_warnings + 1) * sizeof cfg->warnings[0]);
	if (!w) {
		free(line);
		return ZK_NOMEM;
	}
	cfg->warnings = w;
	cfg->warnings[cfg->n_warnings++] = line;
	return 0;
}

/* Replaces *field with a copy of value. */
static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return ZK_NOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* A whole decimal integer (optional sign) in [min, max]; hex with "0x" too
 * when hex is set. */
static bool parse_int(const char *s, bool hex, int64_t min, int64_t max,
		      int64_t *out)
{
	int base = 10;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16;
	/* strtoll also takes blanks, signs and "0x" where we do not. */
	if (base == 16 ? !isxdigit((unsigned char)s[2])
		       : !isdigit((unsigned char)s[s[0] == '-' || s[0] == '+']))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* parse_int with the standard message for the key when it fails. */
static int get_int(struct loader *ld, const char *key, const char *value,
		   int64_t min, int64_t max, int64_t *out)
{
	if (parse_int(value, false, min, max, out))
		return 0;
	if (min == 1 && max == INT32_MAX)
		return fail(ld, "%s: '%s' is not a positive integer", key,
			    value);
	if (min == 0 && max == INT32_MAX)
		return fail(ld, "%s: '%s' is not a non-negative integer", key,
			    value);
	return fail(ld, "%s: '%s' is not an integer in %lld..%lld", key, value,
		    (long long)min, (long long)max);
}

static int get_bool(struct loader *ld, const char *key, const char *value,
		    const char *yes, const char *no, bool *out)
{
	if (strcasecmp(value, yes) == 0)
		*out = true;
	else if (strcasecmp(value, no) == 0)
		*out = false;
	else
		return fail(ld, "%s: '%s' is not %s or %s", key, value, yes,
			    no);
	return 0;
}

/* ---- parsers for the keys that need more than a range check ---- */

static int set_client_port(struct loader *ld, const char *key,
			   const char *value)
{
	int64_t v = 0;
	int rv = get_int(ld, key, value, 1, UINT16_MAX, &v);
	if (rv == 0)
		ld->cfg->client_port = (uint16_t)v;
	return rv;
}

/* A session timeout: positive ms, or -1 for the default (as ZooKeeper). */
static int get_session(struct loader *ld, const char *key, const char *value,
		       int32_t *out)
{
	int64_t v = 0;
	if (!parse_int(value, false, -1, INT32_MAX, &v) || v == 0)
		return fail(ld,
			    "%s: '%s' is not a positive integer (or -1 for "
			    "the default)",
			    key, value);
	*out = (int32_t)v;
	return 0;
}

static int set_min_session(struct loader *ld, const char *key,
			   const char *value)
{
	return get_session(ld, key, value, &ld->min_session);
}

static int set_max_session(struct loader *ld, const char *key,
			   const char *value)
{
	return get_session(ld, key, value, &ld->max_session);
}

/* Comma-separated words, blanks around each dropped, empty items skipped,
 * "*" = every word; unknown words are warned about (ZooKeeper ignores them
 * silently, which hides typos). */
static int set_four_lw(struct loader *ld, const char *key, const char *value)
{
	uint32_t mask = 0;
	const char *p = value;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *item = p;
		p += len;
		if (*p == ',')
			p++;
		while (len > 0 && isspace((unsigned char)item[0])) {
			item++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)item[len - 1]))
			len--;
		if (len == 0)
			continue;
		if (len == 1 && item[0] == '*') {
			mask = (1u << FOUR_LW_COUNT) - 1;
			continue;
		}
		size_t i = 0;
		while (i < FOUR_LW_COUNT &&
		       !(len == 4 && memcmp(item, four_lw_words[i], 4) == 0))
			i++;
		if (i < FOUR_LW_COUNT) {
			mask |= 1u << i;
			continue;
		}
		int rv = warn(ld, "%s: unknown command '%.*s' ignored", key,
			      (int)len, item);
		if (rv != 0)
			return rv;
	}
	ld->cfg->four_lw_mask = mask;
	return 0;
}

static int set_peer_type(struct loader *ld, const char *key,
			 const char *value)
{
	if (strcmp(value, "observer") == 0)
		ld->peer_type = 1;
	else if (strcmp(value, "participant") == 0)
		ld->peer_type = 0;
	else
		return fail(ld, "%s: '%s' is not observer or participant", key,
			    value);
	return 0;
}

static int set_force_sync(struct loader *ld, const char *key,
			  const char *value)
{
	return get_bool(ld, key, value, "yes", "no", &ld->cfg->force_sync);
}

static int set_prealloc(struct loader *ld, const char *key, const char *value)
{
	int64_t v = 0;
	int rv = get_int(ld, key, value, 1, INT32_MAX, &v);
	if (rv == 0)
		ld->cfg->prealloc_bytes = v * 1024;
	return rv;
}

static int set_maxbuffer(struct loader *ld, const char *key,
			 const char *value)
{
	int64_t v = 0;
	if (!parse_int(value, true, 1, INT32_MAX, &v))
		return fail(ld,
			    "%s: '%s' is not a positive integer (decimal or "
			    "0x hex)",
			    key, value);
	ld->cfg->jute_maxbuffer = (int32_t)v;
	return 0;
}

static int set_extended_types(struct loader *ld, const char *key,
			      const char *value)
{
	return get_bool(ld, key, value, "true", "false",
			&ld->cfg->extended_types);
}

static int set_mount_root_super(struct loader *ld, const char *key,
				const char *value)
{
	return get_bool(ld, key, value, "true", "false",
			&ld->cfg->mount_root_super);
}

static bool is_base64_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '/';
}

/* "user:<base64 of a 20-byte SHA-1>": 27 characters and one '=' pad. */
static int set_super_digest(struct loader *ld, const char *key,
			    const char *value)
{
	const char *colon = strchr(value, ':');
	bool ok = colon && colon != value && strlen(colon + 1) == 28 &&
		  colon[28] == '=';
	for (int i = 1; ok && i < 28; i++)
		ok = is_base64_char(colon[i]);
	if (!ok)
		return fail(ld,
			    "%s: '%s' is not user:<base64 sha1> (generate "
			    "it from user:password)",
			    key, value);
	return set_string(&ld->cfg->super_digest, value);
}

/* Only SHA-1 digests exist in zabfs; accept the key when it asks for them. */
static int set_digest_alg(struct loader *ld, const char *key,
			  const char *value)
{
	if (strcasecmp(value, "SHA1") != 0 && strcasecmp(value, "SHA-1") != 0)
		return fail(ld, "%s: '%s' is not supported (only SHA1)", key,
			    value);
	return 0;
}

static int set_mount_point(struct loader *ld, const char *key,
			   const char *value)
{
	if (value[0] != '/')
		return fail(ld, "%s: '%s' is not an absolute path", key, value);
	return set_string(&ld->cfg->mount_point, value);
}

/* A port in s[0..len). */
static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	int64_t v = 0;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!parse_int(buf, false, 1, UINT16_MAX, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

/* Splits "host:rest" or "[v6]:rest"; *host and *host_len get the host
 * without brackets, the return value points after the ':' (NULL if the
 * form is wrong). */
static const char *split_host(const char *s, const char **host,
			      size_t *host_len)
{
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return NULL;
		*host = s + 1;
		*host_len = (size_t)(close - s - 1);
		return close + 2;
	}
	const char *colon = strchr(s, ':');
	if (!colon)
		return NULL;
	*host = s;
	*host_len = (size_t)(colon - s);
	return colon + 1;
}

/* "[clientaddr:]clientport" after the ';' of a server line. */
static const char *parse_client_part(const char *s,
				     struct zabfs_config_server *sv)
{
	const char *port = s;
	const char *host = NULL;
	size_t host_len = 0;
	if (strchr(s, ':')) {
		port = split_host(s, &host, &host_len);
		if (!port || host_len == 0)
			return "bad client address";
	}
	if (!parse_port(port, strlen(port), &sv->client_port))
		return "bad client port";
	if (host) {
		sv->client_addr = strndup(host, host_len);
		if (!sv->client_addr)
			return "";
	}
	return NULL;
}

/* Fills *sv from a server line's value; NULL, "" for out of memory, or
 * what is wrong. */
static const char *parse_server(const char *value,
				struct zabfs_config_server *sv)
{
	if (strchr(value, '|'))
		return "multiple addresses per server are not supported";
	const char *semi = strchr(value, ';');
	size_t head_len = semi ? (size_t)(semi - value) : strlen(value);
	char *head = strndup(value, head_len);
	if (!head)
		return "";

	const char *why = NULL;
	const char *host;
	size_t host_len;
	const char *p = split_host(head, &host, &host_len);
	if (!p || host_len == 0) {
		why = "bad host";
		goto out_head;
	}
	const char *c1 = strchr(p, ':');
	if (!c1 || !parse_port(p, (size_t)(c1 - p), &sv->peer_port)) {
		why = "bad peer port";
		goto out_head;
	}
	const char *e = c1 + 1;
	const char *c2 = strchr(e, ':');
	size_t e_len = c2 ? (size_t)(c2 - e) : strlen(e);
	if (!parse_port(e, e_len, &sv->election_port)) {
		why = "bad election port";
		goto out_head;
	}
	if (c2 && strcmp(c2 + 1, "observer") == 0)
		sv->observer = true;
	else if (c2 && strcmp(c2 + 1, "participant") != 0) {
		why = "the role is not participant or observer";
		goto out_head;
	}
	sv->host = strndup(host, host_len);
	if (!sv->host) {
		why = "";
		goto out_head;
	}
	if (semi)
		why = parse_client_part(semi + 1, sv);
out_head:
	free(head);
	return why;
}

static void server_free(struct zabfs_config_server *sv)
{
	free(sv->host);
	free(sv->client_addr);
}

/* key is "server.N". */
static int set_server(struct loader *ld, const char *key, const char *value)
{
	struct zabfs_config *cfg = ld->cfg;
	const char *n = key + strlen("server.");
	int64_t id;
	if (!isdigit((unsigned char)n[0]) ||
	    !parse_int(n, false, 1, SERVER_ID_MAX, &id))
		return fail(ld, "%s: '%s' is not a server id in 1..%d", key, n,
			    SERVER_ID_MAX);
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == id)
			return fail(ld, "%s: server %lld is given twice", key,
				    (long long)id);

	struct zabfs_config_server sv = {.id = (int32_t)id};
	const char *why = parse_server(value, &sv);
	if (why) {
		server_free(&sv);
		if (why[0] == '\0')
			return ZK_NOMEM;
		return fail(ld, "%s: '%s': %s (expected %s)", key, value, why,
			    SERVER_FORMAT);
	}
	struct zabfs_config_server *v =
		realloc(cfg->servers, (cfg->n_servers + 1) * sizeof *v);
	if (!v) {
		server_free(&sv);
		return ZK_NOMEM;
	}
	cfg->servers = v;
	cfg->servers[cfg->n_servers++] = sv;
	return 0;
}

/* ---- the key table ---- */

/* How a key is handled. */
enum policy {
	INT,      /* an int32_t field, value in [min, max] */
	FLOOR,    /* an int32_t field; values below min are raised, warning */
	STRING,   /* a char * field, value not empty */
	PARSE,    /* rule->parse checks and stores the value */
	IGNORE,   /* known ZooKeeper key, no effect a user relies on: silent */
	WARN,     /* known ZooKeeper key zabfs lacks: the note as a warning */
	OFF_ONLY, /* accepted when "false"; otherwise an error with the note */
	REFUSE,   /* an error with the note: ignoring the key would be unsafe */
};

struct key_rule {
	const char *name;
	bool prefix; /* name matches every key that starts with it */
	enum policy policy;
	size_t off;       /* INT, STRING: the field in struct zabfs_config */
	int64_t min, max; /* INT; FLOOR uses min */
	int (*parse)(struct loader *ld, const char *key, const char *value);
	const char *note; /* WARN, OFF_ONLY, REFUSE */
};

#define FIELD(f) offsetof(struct zabfs_config, f)
#define K_INT(name, f, min, max)                                            \
	{name, false, INT, FIELD(f), min, max, NULL, NULL}
#define K_FLOOR(name, f, min) {name, false, FLOOR, FIELD(f), min, 0, NULL, NULL}
#define K_STR(name, f) {name, false, STRING, FIELD(f), 0, 0, NULL, NULL}
#define K_FN(name, fn) {name, false, PARSE, 0, 0, 0, fn, NULL}
#define K_IGNORE(name, prefix) {name, prefix, IGNORE, 0, 0, 0, NULL, NULL}
#define K_NOTE(name, prefix, policy, note)                                  \
	{name, prefix, policy, 0, 0, 0, NULL, note}

static const struct key_rule keys[] = {
	K_INT("tickTime", tick_ms, 1, INT32_MAX),
	K_INT("initLimit", init_limit, 1, INT32_MAX),
	K_INT("syncLimit", sync_limit, 1, INT32_MAX),
	K_STR("dataDir", data_dir),
	K_STR("dataLogDir", data_log_dir),
	K_FN("clientPort", set_client_port),
	K_STR("clientPortAddress", client_addr),
	K_INT("maxClientCnxns", max_client_cnxns, 0, INT32_MAX),
	K_FN("minSessionTimeout", set_min_session),
	K_FN("maxSessionTimeout", set_max_session),
	K_FLOOR("snapCount", snap_count, SNAP_COUNT_MIN),
	K_INT("commitLogCount", commit_log_count, 1, INT32_MAX),
	K_INT("zookeeper.commitLogCount", commit_log_count, 1, INT32_MAX),
	K_FLOOR("autopurge.snapRetainCount", snap_retain_count,
		SNAP_RETAIN_MIN),
	K_INT("autopurge.purgeInterval", purge_interval_h, 0, INT32_MAX),
	K_FN("4lw.commands.whitelist", set_four_lw),
	K_FN("zookeeper.4lw.commands.whitelist", set_four_lw),
	{"server.", true, PARSE, 0, 0, 0, set_server, NULL},
	K_FN("peerType", set_peer_type),
	K_FN("forceSync", set_force_sync),
	K_FN("zookeeper.forceSync", set_force_sync),
	K_FN("preAllocSize", set_prealloc),
	K_FN("zookeeper.preAllocSize", set_prealloc),
	K_FN("jute.maxbuffer", set_maxbuffer),
	K_FN("extendedTypesEnabled", set_extended_types),
	K_FN("zookeeper.extendedTypesEnabled", set_extended_types),
	K_FN("DigestAuthenticationProvider.superDigest", set_super_digest),
	K_FN("zookeeper.DigestAuthenticationProvider.superDigest",
	     set_super_digest),
	K_FN("DigestAuthenticationProvider.digestAlg", set_digest_alg),
	K_FN("zookeeper.DigestAuthenticationProvider.digestAlg",
	     set_digest_alg),
	K_FN("mountPoint", set_mount_point),
	K_FN("mountRootSuper", set_mount_root_super),
	K_STR("peerSecret", peer_secret),

	/* Known ZooKeeper keys zabfs does not implement. */
	K_IGNORE("standaloneEnabled", false), /* one node = ensemble of one */
	K_IGNORE("admin.", true),             /* no AdminServer */
	K_IGNORE("metricsProvider.", true),
	K_IGNORE("audit.enable", false),
	K_IGNORE("globalOutstandingLimit", false),
	K_IGNORE("maxCnxns", false),
	K_IGNORE("leaderServes", false),
	K_IGNORE("cnxTimeout", false),
	K_IGNORE("electionAlg", false),
	K_IGNORE("electionPortBindRetry", false),
	K_IGNORE("quorumListenOnAllIPs", false),
	K_IGNORE("syncEnabled", false),
	K_IGNORE("observerMasterPort", false),
	K_IGNORE("connectToLearnerMasterLimit", false),
	K_IGNORE("fsync.warningthresholdms", false),
	K_IGNORE("snapSizeLimitInKb", false),
	K_IGNORE("txnLogSizeLimitInKb", false),
	K_IGNORE("maxResponseCacheSize", false),
	K_IGNORE("maxGetChildrenResponseCacheSize", false),
	K_IGNORE("clientPortListenBacklog", false),
	K_IGNORE("tcpKeepAlive", false),
	K_IGNORE("clientTcpKeepAlive", false),
	K_IGNORE("localSessionsEnabled", false),
	K_IGNORE("localSessionsUpgradingEnabled", false),
	K_IGNORE("jute.maxbuffer.extrasize", false),
	K_IGNORE("serverCnxnFactory", false),
	K_IGNORE("multiAddress.", true),
	K_INT("znode.container.checkIntervalMs", container_check_ms, 1,
	      INT32_MAX),
	K_IGNORE("znode.container.", true),
	K_NOTE("skipACL", false, WARN, "ACLs are always checked"),
	K_NOTE("zookeeper.skipACL", false, WARN, "ACLs are always checked"),
	K_NOTE("ssl.", true, WARN, "TLS is not supported"),
	K_NOTE("authProvider.", true, WARN,
	       "only the digest and ip schemes are supported"),
	K_NOTE("quorum.auth.", true, WARN,
	       "SASL peer authentication is not supported; use peerSecret"),
	K_NOTE("zookeeper.superUser", false, WARN, "SASL is not supported"),
	K_NOTE("reconfigEnabled", false, OFF_ONLY,
	       "dynamic reconfiguration is not supported"),
	K_NOTE("sslQuorum", false, OFF_ONLY, "TLS is not supported"),
	K_NOTE("client.secure", false, OFF_ONLY, "TLS is not supported"),
	K_NOTE("readonlymode.enabled", false, OFF_ONLY,
	       "read-only mode is not supported"),
	K_NOTE("enforce.auth.enabled", false, OFF_ONLY,
	       "enforced authentication is not supported"),
	K_NOTE("secureClientPort", false, REFUSE, "TLS is not supported"),
	K_NOTE("secureClientPortAddress", false, REFUSE,
	       "TLS is not supported"),
	K_NOTE("dynamicConfigFile", false, REFUSE,
	       "not supported; put the server.N lines in this file"),
	K_NOTE("group.", true, REFUSE,
	       "hierarchical quorums are not supported"),
	K_NOTE("weight.", true, REFUSE,
	       "hierarchical quorums are not supported"),
};

static const struct key_rule *find_rule(const char *key)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key_rule *r = &keys[i];
		if (r->prefix ? strncmp(key, r->name, strlen(r->name)) == 0
			      : strcmp(key, r->name) == 0)
			return r;
	}
	return NULL;
}

static int apply_entry(struct loader *ld, const struct entry *e)
{
	ld->line = e->line;
	const struct key_rule *r = find_rule(e->key);
	if (!r)
		return warn(ld, "unknown key '%s' ignored", e->key);
	int64_t v = 0;
	int rv;
	switch (r->policy) {
	case INT:
		rv = get_int(ld, e->key, e->value, r->min, r->max, &v);
		if (rv == 0)
			*(int32_t *)((char *)ld->cfg + r->off) = (int32_t)v;
		return rv;
	case FLOOR:
		rv = get_int(ld, e->key, e->value, INT32_MIN, INT32_MAX, &v);
		if (rv == 0 && v < r->min) {
			v = r->min;
			rv = warn(ld, "%s: '%s' is below the minimum, using %d",
				  e->key, e->value, (int)r->min);
		}
		if (rv == 0)
			*(int32_t *)((char *)ld->cfg + r->off) = (int32_t)v;
		return rv;
	case STRING:
		if (e->value[0] == '\0')
			return fail(ld, "%s: empty value", e->key);
		return set_string((char **)((char *)ld->cfg + r->off),
				  e->value);
	case PARSE:
		return r->parse(ld, e->key, e->value);
	case IGNORE:
		return 0;
	case WARN:
		return warn(ld, "%s ignored: %s", e->key, r->note);
	case OFF_ONLY:
		if (strcasecmp(e->value, "false") == 0)
			return 0;
		return fail(ld, "%s: '%s': %s", e->key, e->value, r->note);
	case REFUSE:
		break;
	}
	return fail(ld, "%s: %s", e->key, r->note);
}

/* ---- pass 1: the file into entries ---- */

/* Reads at most CONFIG_MAX_FILE bytes of path into a NUL-terminated heap
 * buffer (*out, caller frees).  0, ZK_IO (errno set), ZK_TOOBIG or
 * ZK_NOMEM. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ZK_IO;
	int rv = ZK_NOMEM;
	char *buf = malloc(CONFIG_MAX_FILE + 1);
	if (!buf)
		goto out_close;
	size_t n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f)) {
		int saved = errno;
		free(buf);
		fclose(f);
		errno = saved;
		return ZK_IO;
	}
	if (n > CONFIG_MAX_FILE) {
		rv = ZK_TOOBIG;
		goto out_buf;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	fclose(f);
	return 0;
out_buf:
	free(buf);
out_close:
	fclose(f);
	return rv;
}

/* Java properties whitespace, plus '\r' so CRLF files read the same. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\r';
}

static char *trim(char *s)
{
	while (is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int add_entry(struct loader *ld, const char *key, const char *value,
		     int line)
{
	for (size_t i = 0; i < ld->n_entries; i++) {
		struct entry *e = &ld->entries[i];
		if (strcmp(e->key, key) != 0)
			continue;
		char *v = strdup(value);
		if (!v)
			return ZK_NOMEM;
		ld->line = line;
		int rv = warn(ld,
			      "%s set again (line %d); the last value is used",
			      key, e->line);
		ld->line = 0;
		if (rv != 0) {
			free(v);
			return rv;
		}
		free(e->value);
		e->value = v;
		e->line = line;
		return 0;
	}
	struct entry *v = realloc(ld->entries, (ld->n_entries + 1) * sizeof *v);
	if (!v)
		return ZK_NOMEM;
	ld->entries = v;
	struct entry *e = &ld->entries[ld->n_entries];
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return ZK_NOMEM;
	}
	ld->n_entries++;
	return 0;
}

static int read_entries(struct loader *ld)
{
	char *text;
	size_t len;
	int rv = read_file(ld->path, &text, &len);
	if (rv == ZK_IO)
		return fail(ld, "cannot read: %s", strerror(errno));
	if (rv == ZK_TOOBIG)
		return fail(ld, "larger than %d bytes", CONFIG_MAX_FILE);
	if (rv != 0)
		return rv;
	if (memchr(text, '\0', len)) {
		rv = fail(ld, "contains a NUL byte");
		goto out_text;
	}
	int line = 0;
	for (char *p = text, *next; p && *p; p = next) {
		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		char *s = trim(p);
		if (s[0] == '\0' || s[0] == '#' || s[0] == '!')
			continue;
		ld->line = line;
		char *eq = strchr(s, '=');
		if (!eq) {
			rv = fail(ld, "'%s' is not key=value", s);
			goto out_text;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		if (key[0] == '\0') {
			rv = fail(ld, "empty key");
			goto out_text;
		}
		size_t vlen = strlen(value);
		if (vlen > 0 && value[vlen - 1] == '\\') {
			rv = fail(ld,
				  "%s: line continuations are not supported",
				  key);
			goto out_text;
		}
		ld->line = 0;
		rv = add_entry(ld, key, value, line);
		if (rv != 0)
			goto out_text;
	}
	rv = 0;
out_text:
	free(text);
	return rv;
}

/* ---- pass 3: rules across keys ---- */

static int server_cmp(const void *a, const void *b)
{
	const struct zabfs_config_server *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static const struct zabfs_config_server *
find_server(const struct zabfs_config *cfg, int32_t id)
{
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].id == id)
			return &cfg->servers[i];
	return NULL;
}

/* cfg->myid from <dataDir>/myid: required with 2+ servers; with one server
 * it defaults to that server's id; with none it is 1 and the file is not
 * read (a standalone node has no use for it). */
static int read_myid(struct loader *ld)
{
	struct zabfs_config *cfg = ld->cfg;
	if (cfg->n_servers == 0) {
		cfg->myid = 1;
		return 0;
	}
	char *file;
	if (asprintf(&file, "%s/myid", cfg->data_dir) < 0)
		return ZK_NOMEM;
	char *text;
	size_t len;
	int rv = read_file(file, &text, &len);
	if (rv == ZK_IO && errno == ENOENT && cfg->n_servers == 1) {
		cfg->myid = cfg->servers[0].id;
		rv = 0;
		goto out_file;
	}
	if (rv == ZK_IO) {
		rv = fail(ld, "%s: cannot read: %s (each server needs its id "
			      "in this file)",
			  file, strerror(errno));
		goto out_file;
	}
	if (rv == ZK_TOOBIG) {
		rv = fail(ld, "%s: not a server id", file);
		goto out_file;
	}
	if (rv != 0)
		goto out_file;
	int64_t id;
	char *s = text;
	while (isspace((unsigned char)*s))
		s++;
	for (size_t n = strlen(s); n > 0 && isspace((unsigned char)s[n - 1]);)
		s[--n] = '\0';
	if (!isdigit((unsigned char)s[0]) ||
	    !parse_int(s, false, 1, SERVER_ID_MAX, &id)) {
		rv = fail(ld, "%s: '%s' is not a server id in 1..%d", file, s,
			  SERVER_ID_MAX);
		goto out_text;
	}
	cfg->myid = (int32_t)id;
	if (!find_server(cfg, cfg->myid))
		rv = fail(ld, "%s: id %d has no server.%d line", file,
			  cfg->myid, cfg->myid);
out_text:
	free(text);
out_file:
	free(file);
	return rv;
}

/* This node's client port: clientPort[Address], or its server line's
 * ";[addr:]port"; both given and different is an error. */
static int settle_client_port(struct loader *ld,
			      const struct zabfs_config_server *self)
{
	struct zabfs_config *cfg = ld->cfg;
	if (self && self->client_port != 0) {
		if (cfg->client_port && cfg->client_port != self->client_port)
			return fail(ld,
				    "clientPort %u differs from the client "
				    "port %u of server.%d",
				    cfg->client_port, self->client_port,
				    self->id);
		cfg->client_port = self->client_port;
		if (self->client_addr) {
			if (cfg->client_addr &&
			    strcmp(cfg->client_addr, self->client_addr) != 0)
				return fail(ld,
					    "clientPortAddress %s differs "
					    "from the client address %s of "
					    "server.%d",
					    cfg->client_addr,
					    self->client_addr, self->id);
			int rv = set_string(&cfg->client_addr,
					    self->client_addr);
			if (rv != 0)
				return rv;
		}
	} else if (!cfg->client_port && cfg->client_addr) {
		return fail(ld, "clientPortAddress is set but clientPort is "
				"not");
	}
	if (!cfg->client_addr)
		return set_string(&cfg->client_addr, "0.0.0.0");
	return 0;
}

static int finish(struct loader *ld)
{
	struct zabfs_config *cfg = ld->cfg;
	ld->line = 0;
	if (cfg->tick_ms == 0)
		return fail(ld, "tickTime is required");
	if (!cfg->data_dir)
		return fail(ld, "dataDir is required");
	if (!cfg->data_log_dir) {
		int rv = set_string(&cfg->data_log_dir, cfg->data_dir);
		if (rv != 0)
			return rv;
	}

	int64_t min = ld->min_session != -1 ? ld->min_session
					    : 2 * (int64_t)cfg->tick_ms;
	int64_t max = ld->max_session != -1 ? ld->max_session
					    : 20 * (int64_t)cfg->tick_ms;
	if (min > INT32_MAX || max > INT32_MAX)
		return fail(ld, "tickTime %d is too large for the default "
				"session timeouts",
			    cfg->tick_ms);
	if (min > max)
		return fail(ld,
			    "minSessionTimeout %lld is larger than "
			    "maxSessionTimeout %lld",
			    (long long)min, (long long)max);
	cfg->min_session_timeout_ms = (int32_t)min;
	cfg->max_session_timeout_ms = (int32_t)max;

	if (cfg->n_servers > 1)
		qsort(cfg->servers, cfg->n_servers, sizeof cfg->servers[0],
		      server_cmp);
	if (cfg->n_servers >= 2 && (!cfg->init_limit || !cfg->sync_limit))
		return fail(ld, "%s is required with more than one server",
			    cfg->init_limit ? "syncLimit" : "initLimit");
	if (!cfg->init_limit)
		cfg->init_limit = 10; /* the sample zoo.cfg's values */
	if (!cfg->sync_limit)
		cfg->sync_limit = 5;
	size_t voters = 0;
	for (size_t i = 0; i < cfg->n_servers; i++)
		voters += !cfg->servers[i].observer;
	if (cfg->n_servers > 0 && voters == 0)
		return fail(ld, "every server is an observer; at least one "
				"must be a participant");

	int rv = read_myid(ld);
	if (rv != 0)
		return rv;

	const struct zabfs_config_server *self = find_server(cfg, cfg->myid);
	if (self) {
		cfg->observer = self->observer;
		if (ld->peer_type != -1 && ld->peer_type != (int)self->observer)
			rv = warn(ld,
				  "peerType %s differs from server.%d; using "
				  "%s",
				  ld->peer_type ? "observer" : "participant",
				  self->id,
				  self->observer ? "observer" : "participant");
	} else if (ld->peer_type == 1) {
		return fail(ld, "peerType is observer but there are no "
				"server.N lines");
	}
	if (rv != 0)
		return rv;
	return settle_client_port(ld, self);
}

/* ---- the public functions ---- */

static void set_defaults(struct zabfs_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_client_cnxns = 60;
	cfg->snap_count = 100000;
	cfg->commit_log_count = 10000;
	cfg->container_check_ms = 60000;
	cfg->snap_retain_count = SNAP_RETAIN_MIN;
	cfg->purge_interval_h = 1;
	cfg->prealloc_bytes = 65536 * 1024LL;
	cfg->force_sync = true;
	cfg->jute_maxbuffer = ZK_DEFAULT_MAXBUFFER;
}

int config_load(const char *path, struct zabfs_config *out, char *err,
		size_t errlen)
{
	struct loader ld = {
		.path = path,
		.err = err,
		.errlen = errlen,
		.cfg = out,
		.min_session = -1,
		.max_session = -1,
		.peer_type = -1,
	};
	set_defaults(out);
	if (errlen > 0)
		err[0] = '\0';
	int rv = read_entries(&ld);
	for (size_t i = 0; rv == 0 && i < ld.n_entries; i++)
		rv = apply_entry(&ld, &ld.entries[i]);
	if (rv == 0)
		rv = finish(&ld);
	for (size_t i = 0; i < ld.n_entries; i++) {
		free(ld.entries[i].key);
		free(ld.entries[i].value);
	}
	free(ld.entries);
	if (rv != 0) {
		if (rv == ZK_NOMEM && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		config_free(out);
	}
	return rv;
}

void config_free(struct zabfs_config *cfg)
{
	free(cfg->data_dir);
	free(cfg->data_log_dir);
	free(cfg->client_addr);
	for (size_t i = 0; i < cfg->n_servers; i++)
		server_free(&cfg->servers[i]);
	free(cfg->servers);
	free(cfg->super_digest);
	free(cfg->mount_point);
	free(cfg->peer_secret);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	memset(cfg, 0, sizeof *cfg);
}

bool config_4lw_allowed(const struct zabfs_config *cfg, const char *cmd)
{
	if (strcmp(cmd, "srvr") == 0)
		return true;
	for (size_t i = 0; i < FOUR_LW_COUNT; i++)
		if (strcmp(cmd, four_lw_words[i]) == 0)
			return (cfg->four_lw_mask >> i) & 1u;
	return false;
}
