/*
 * fourlw.c - the text of the four-letter words, in ZooKeeper's formats
 * (FourLetterCommands, ServerStats.toString, the mntr key list), so that
 * zkServer.sh status, kazoo's server_version and exporters parse them.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fourlw_i.h"
#include "server_i.h"
#include "txnlog_i.h"
#include "zabfs/tree.h"

static void put(struct jute_writer *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		jute_put_raw(out, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static const char *mode_of(const struct server *srv)
{
	if (!srv->ensemble)
		return "standalone";
	if (srv->leading)
		return "leader";
	if (!srv->serving)
		return "looking";
	return srv->cfg->observer ? "observer" : "follower";
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void put_latency(struct jute_writer *out, const struct server_stats *st)
{
	double avg = st->n_latency ? ms(st->sum_latency_ns) / (double)st->n_latency
				   : 0.0;
	put(out, "Latency min/avg/max: %.3f/%.4f/%.3f\n", ms(st->min_latency_ns),
	    avg, ms(st->max_latency_ns));
}

static void put_conn(struct jute_writer *out, const struct conn *c, bool full)
{
	put(out, " /%s[1](queued=%zu,recved=%" PRIu64 ",sent=%" PRIu64, c->peer,
	    c->n_queued, c->packets_in, c->packets_out);
	if (full && c->session) {
		double avg = c->n_latency ? ms(c->sum_latency_ns) /
						    (double)c->n_latency
					  : 0.0;
		put(out,
		    ",sid=0x%" PRIx64 ",est=%" PRIu64 ",to=%d,llat=%.3f,minlat=%.3f,"
		    "avglat=%.3f,maxlat=%.3f",
		    (uint64_t)c->session->id, c->connected_ms,
		    c->session->timeout_ms, ms(c->last_latency_ns),
		    ms(c->min_latency_ns), avg, ms(c->max_latency_ns));
	}
	put(out, ")\n");
}

static void srvr(struct server *srv, struct jute_writer *out, bool with_clients)
{
	put(out, "Zookeeper version: %s, built on %s\n", ZABFS_ZK_VERSION,
	    __DATE__);
	if (with_clients) {
		put(out, "Clients:\n");
		for (const struct conn *c = srv->conns; c; c = c->next)
			put_conn(out, c, false);
		put(out, "\n");
	}
	put_latency(out, &srv->stats);
	put(out, "Received: %" PRIu64 "\n", srv->stats.packets_received);
	put(out, "Sent: %" PRIu64 "\n", srv->stats.packets_sent);
	put(out, "Connections: %zu\n", srv->n_conns);
	put(out, "Outstanding: %" PRIu64 "\n", srv->stats.outstanding);
	put(out, "Zxid: 0x%" PRIx64 "\n", (uint64_t)srv->last_applied);
	put(out, "Mode: %s\n", mode_of(srv));
	put(out, "Node count: %" PRIu64 "\n", tree_node_count(srv->tree));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", "..", and the dir itself */
}

static void mntr(struct server *srv, struct jute_writer *out)
{
	const struct server_stats *st = &srv->stats;
	struct txnlog_stats ls;
	struct rlimit rl = {0, 0};
	txnlog_stats(srv->log, &ls);
	getrlimit(RLIMIT_NOFILE, &rl);
	put(out, "zk_version\t%s\n", ZABFS_ZK_VERSION);
	put(out, "zk_server_state\t%s\n", mode_of(srv));
	put(out, "zk_avg_latency\t%.4f\n",
	    st->n_latency ? ms(st->sum_latency_ns) / (double)st->n_latency : 0.0);
	put(out, "zk_max_latency\t%.3f\n", ms(st->max_latency_ns));
	put(out, "zk_min_latency\t%.3f\n", ms(st->min_latency_ns));
	put(out, "zk_packets_received\t%" PRIu64 "\n", st->packets_received);
	put(out, "zk_packets_sent\t%" PRIu64 "\n", st->packets_sent);
	put(out, "zk_num_alive_connections\t%zu\n", srv->n_conns);
	put(out, "zk_outstanding_requests\t%" PRIu64 "\n", st->outstanding);
	put(out, "zk_znode_count\t%" PRIu64 "\n", tree_node_count(srv->tree));
	put(out, "zk_watch_count\t%" PRIu64 "\n", srv->watches.n_watches);
	put(out, "zk_ephemerals_count\t%" PRIu64 "\n",
	    tree_ephemeral_count(srv->tree));
	put(out, "zk_approximate_data_size\t%" PRIu64 "\n",
	    tree_data_size(srv->tree));
	put(out, "zk_open_file_descriptor_count\t%d\n", count_fds());
	put(out, "zk_max_file_descriptor_count\t%" PRIu64 "\n",
	    (uint64_t)rl.rlim_cur);
	put(out, "zk_uptime\t%" PRIu64 "\n", server_now_ms() - srv->start_ms);
	put(out, "zk_global_sessions\t%" PRIu64 "\n", srv->sessions.n_committed);
	put(out, "zk_local_sessions\t0\n");
	put(out, "zk_last_zxid\t0x%" PRIx64 "\n", (uint64_t)srv->last_applied);
	put(out, "zk_fsync_count\t%" PRIu64 "\n", ls.fsyncs);
	put(out, "zk_fsync_time_ms\t%.3f\n", ms(ls.fsync_ns));
	put(out, "zk_log_bytes_written\t%" PRIu64 "\n", ls.bytes_written);
	put(out, "zk_tree_digest\t0x%016" PRIx64 "\n", tree_digest(srv->tree));
}

static void conf(struct server *srv, struct jute_writer *out)
{
	const struct zabfs_config *cfg = srv->cfg;
	put(out, "clientPort=%u\n", cfg->client_port);
	put(out, "clientPortAddress=%s\n", cfg->client_addr);
	put(out, "dataDir=%s\n", cfg->data_dir);
	put(out, "dataLogDir=%s\n", cfg->data_log_dir);
	put(out, "tickTime=%d\n", cfg->tick_ms);
	put(out, "maxClientCnxns=%d\n", cfg->max_client_cnxns);
	put(out, "minSessionTimeout=%d\n", cfg->min_session_timeout_ms);
	put(out, "maxSessionTimeout=%d\n", cfg->max_session_timeout_ms);
	put(out, "serverId=%d\n", cfg->myid);
	put(out, "snapCount=%d\n", cfg->snap_count);
	put(out, "autopurge.snapRetainCount=%d\n", cfg->snap_retain_count);
	put(out, "autopurge.purgeInterval=%d\n", cfg->purge_interval_h);
	put(out, "jute.maxbuffer=%d\n", cfg->jute_maxbuffer);
	if (cfg->mount_point)
		put(out, "mountPoint=%s\n", cfg->mount_point);
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const struct zabfs_config_server *s = &cfg->servers[i];
		put(out, "server.%d=%s:%u:%u:%s\n", s->id, s->host, s->peer_port,
		    s->election_port, s->observer ? "observer" : "participant");
	}
}

static int dump_ephemeral(void *ctx, struct tree_node *n)
{
	char path[4096];
	size_t len = tree_node_path(n, path, sizeof(path));
	if (len < sizeof(path))
		put(ctx, "\t%s\n", path);
	return 0;
}

static void dump(struct server *srv, struct jute_writer *out)
{
	put(out, "SessionTracker dump:\nGlobal Sessions(%" PRIu64 "):\n",
	    srv->sessions.n_committed);
	uint64_t now = server_now_ms();
	size_t bucket = 0;
	const struct hmap *m = &srv->sessions.map;
	for (struct hmap_node *n = hmap_next(m, &bucket, NULL); n;
	     n = hmap_next(m, &bucket, n)) {
		struct session *s = HMAP_CONTAINER(n, struct session, node);
		if (s->committed)
			put(out, "0x%" PRIx64 "\t%" PRId64 "ms\n", (uint64_t)s->id,
			    (int64_t)(s->expire_ms - now));
	}
	put(out, "ephemeral nodes dump:\nSessions with Ephemerals:\n");
	bucket = 0;
	tree_read_lock();
	for (struct hmap_node *n = hmap_next(m, &bucket, NULL); n;
	     n = hmap_next(m, &bucket, n)) {
		struct session *s = HMAP_CONTAINER(n, struct session, node);
		put(out, "0x%" PRIx64 ":\n", (uint64_t)s->id);
		tree_ephemerals_foreach(srv->tree, s->id, dump_ephemeral, out);
	}
	tree_read_unlock();
}

static uint64_t dir_size(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static void envi(struct server *srv, struct jute_writer *out)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	put(out, "Environment:\n");
	put(out, "zookeeper.version=%s, built on %s\n", ZABFS_ZK_VERSION, __DATE__);
	put(out, "host.name=%s\n", host);
	put(out, "os.name=Linux\n");
	put(out, "server.implementation=zabfs\n");
	put(out, "server.pid=%d\n", (int)getpid());
	put(out, "user.dir=%s\n", srv->cfg->data_dir);
}

void fourlw_run(struct server *srv, const char *cmd, struct jute_writer *out)
{
	if (!strcmp(cmd, "ruok")) {
		put(out, "imok");
	} else if (!strcmp(cmd, "srvr")) {
		srvr(srv, out, false);
	} else if (!strcmp(cmd, "stat")) {
		srvr(srv, out, true);
	} else if (!strcmp(cmd, "mntr")) {
		mntr(srv, out);
	} else if (!strcmp(cmd, "conf")) {
		conf(srv, out);
	} else if (!strcmp(cmd, "cons")) {
		for (const struct conn *c = srv->conns; c; c = c->next)
			put_conn(out, c, true);
		put(out, "\n");
	} else if (!strcmp(cmd, "crst")) {
		for (struct conn *c = srv->conns; c; c = c->next) {
			c->packets_in = c->packets_out = 0;
			c->n_latency = c->sum_latency_ns = 0;
			c->min_latency_ns = c->max_latency_ns = 0;
		}
		put(out, "Connection stats reset.\n");
	} else if (!strcmp(cmd, "srst")) {
		uint64_t outstanding = srv->stats.outstanding;
		memset(&srv->stats, 0, sizeof(srv->stats));
		srv->stats.outstanding = outstanding;
		put(out, "Server stats reset.\n");
	} else if (!strcmp(cmd, "wchs")) {
		watches_report(&srv->watches, 's', out);
	} else if (!strcmp(cmd, "wchc")) {
		watches_report(&srv->watches, 'c', out);
	} else if (!strcmp(cmd, "wchp")) {
		watches_report(&srv->watches, 'p', out);
	} else if (!strcmp(cmd, "dump")) {
		dump(srv, out);
	} else if (!strcmp(cmd, "envi")) {
		envi(srv, out);
	} else if (!strcmp(cmd, "dirs")) {
		put(out, "datadir_size: %" PRIu64 "\n", dir_size(srv->cfg->data_dir));
		put(out, "logdir_size: %" PRIu64 "\n",
		    dir_size(srv->cfg->data_log_dir));
	} else if (!strcmp(cmd, "isro")) {
		put(out, "rw");
	} else if (!strcmp(cmd, "gtmk")) {
		put(out, "0\n");
	} else {
		put(out, "%s is not supported by zabfs\n", cmd);
	}
}
