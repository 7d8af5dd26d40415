/*
 * zkpath.h - znode paths: ZooKeeper's validity rules and the small pieces
 * of path arithmetic the server needs.
 *
 * Design
 *   Paths are struct zk_bytes views of UTF-8 bytes, never NUL-terminated;
 *   the helpers return views into their argument and never allocate.
 *
 *   zk_path_validate applies PathUtils.validatePath to the string a Java
 *   server would see after decoding the bytes as UTF-8:
 *     - not null, not empty, starts with '/';
 *     - does not end with '/', unless it is "/";
 *     - no empty component ("//"), no "." or ".." component;
 *     - no code point U+0000-U+001F, U+007F-U+009F, U+D800-U+F8FF or
 *       U+FFF0-U+FFFF.  Java holds a non-BMP character as a surrogate
 *       pair (U+D800-U+DFFF), so every code point above U+FFFF is refused;
 *       Java decodes malformed UTF-8 (overlong forms, encoded surrogates,
 *       stray or missing continuation bytes) to U+FFFD, so those are
 *       refused too.
 *   Whether a valid path may be used ("/zookeeper" is reserved) is the
 *   server's business.
 *
 * Invariants
 *   1. zk_path_parent and zk_path_basename of a valid path return views
 *      into it; their results for invalid paths are unspecified but stay
 *      inside the argument.
 */
#ifndef ZABFS_ZKPATH_H
#define ZABFS_ZKPATH_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/types.h"

/* 0 if path is a valid znode path, else ZK_BADARGUMENTS. */
int zk_path_validate(struct zk_bytes path);

/* "/a/b" -> "/a", "/a" -> "/", "/" -> null view (len -1): the root has no
 * parent. */
struct zk_bytes zk_path_parent(struct zk_bytes path);

/* "/a/b" -> "b", "/" -> "" (len 0). */
struct zk_bytes zk_path_basename(struct zk_bytes path);

/* "%010d" of a signed int32 as Java's String.format prints it: at least 10
 * characters, zero-padded after any sign ("0000000042", "-000000042",
 * "-2147483648").  Writes at most ZK_SEQ_SUFFIX_SIZE bytes including a
 * terminating NUL into buf and returns the length without the NUL. */
#define ZK_SEQ_SUFFIX_SIZE 12
size_t zk_path_seq_suffix(char buf[ZK_SEQ_SUFFIX_SIZE], int32_t seq);

#endif
