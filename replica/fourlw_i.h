/*
 * fourlw_i.h - ZooKeeper's four-letter words on the client port.
 */
#ifndef ZABFS_FOURLW_I_H
#define ZABFS_FOURLW_I_H

#include "zabfs/jute.h"

struct server;

/* ZooKeeper's version as zabfs reports it (kazoo's server_version and
 * monitoring tools parse the leading x.y.z). */
#define ZABFS_ZK_VERSION "3.9.4-zabfs-0.1"

/* Writes the plain-text answer of cmd (one of zk_4lw_name's words, already
 * checked against the whitelist) to out. */
void fourlw_run(struct server *srv, const char *cmd, struct jute_writer *out);

#endif
