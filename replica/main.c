/*
 * main.c - `zabfs CONFIG`: load a zoo.cfg and run the node in the
 * foreground until SIGTERM, with the tree mounted where mountPoint says.
 * Exit code 3 from the node means "rebuild from disk" (the leader
 * truncated what recovery had applied, zab_driver.c): the process starts
 * itself again.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zabfs/config.h"
#include "zabfs/err.h"
#include "zabfs/fs.h"
#include "zabfs/server.h"

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: zabfs CONFIG\n"
				"  CONFIG is a ZooKeeper zoo.cfg (see README.md)\n");
		return argc == 2 ? 0 : 1;
	}
	struct zabfs_config cfg;
	char err[512];
	if (config_load(argv[1], &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "zabfs: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < cfg.n_warnings; i++)
		fprintf(stderr, "zabfs: warning: %s\n", cfg.warnings[i]);
#ifdef ZABFS_BUG_NAME
	fprintf(stderr, "zabfs: TEST BUILD with the deliberate bug %s\n",
		ZABFS_BUG_NAME);
#endif
	/* A peer or client that closed its socket makes a write fail with
	 * EPIPE, which the stream code handles; the signal would kill us. */
	signal(SIGPIPE, SIG_IGN);
	int rc = zabfs_server_run(&cfg, zabfs_fs_frontend());
	config_free(&cfg);
	if (rc == 3) {
		fprintf(stderr, "zabfs: restarting\n");
		execv("/proc/self/exe", argv);
		perror("zabfs: restarting");
	}
	return rc;
}
