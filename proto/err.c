/*
 * err.c - messages for the error space declared in include/zabfs/err.h.
 */
#include "zabfs/err.h"

const char *zk_strerror(int err)
{
	switch (err) {
#define ZK_ERR_CASE(name, code, msg)                                         \
	case (code):                                                         \
		return msg;
		ZK_ERR_MAP(ZK_ERR_CASE)
#undef ZK_ERR_CASE
	}
	return "unknown error";
}
