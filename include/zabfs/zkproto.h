/*
 * zkproto.h - ZooKeeper's client protocol: request decoding, response
 * encoding, the connect handshake and the four-letter words.
 *
 * Design
 *   Decoding is zero-copy and allocation-free: a decoded request is a view
 *   into the frame it came from (every struct zk_bytes, struct zk_vec and
 *   struct zk_ops points into it), so the caller keeps the frame alive and
 *   unmodified while the request is used.  Variable-length lists (ACLs,
 *   setWatches paths, multi ops) are validated whole while decoding but kept
 *   encoded; iterators hand out one element at a time.
 *
 *   Each request record is declared once, as a list of fields (the
 *   ZK_FIELDS_* macros below); that list gives the struct, the decoder and
 *   the encoder (proto/zkrequest.c).  Records of the same shape share one
 *   struct: ZK_OP_MAP says which union member each opcode fills.
 *
 *   Responses are written into a struct jute_writer.  Records that are one
 *   primitive are written with the jute_put_* call for it:
 *
 *     | response record                 | write with                     |
 *     |---------------------------------|--------------------------------|
 *     | CreateResponse, SyncResponse    | jute_put_buffer(w, path)       |
 *     | SetSASLResponse                 | jute_put_buffer(w, token)      |
 *     | ErrorResponse (addWatch too)    | jute_put_int(w, err)           |
 *     | GetAllChildrenNumberResponse    | jute_put_int(w, count)         |
 *     | Exists/SetData/SetACLResponse   | zk_put_stat(w, &stat)          |
 *     | Create2Response                 | zk_put_create2_response        |
 *     | GetDataResponse                 | zk_put_get_data_response       |
 *     | GetACLResponse                  | zk_put_get_acl_response(_raw)  |
 *     | GetChildrenResponse,            | zk_vec_begin, zk_vec_put_string|
 *     |   GetEphemeralsResponse         |   per name, zk_vec_end         |
 *     | GetChildren2Response            | the same, then zk_put_stat     |
 *     | WhoAmIResponse                  | zk_vec_begin,                  |
 *     |                                 |   zk_vec_put_client_info, end  |
 *     | MultiResponse                   | per op: zk_put_multi_header +  |
 *     |                                 |   its record, or               |
 *     |                                 |   zk_put_multi_error; then     |
 *     |                                 |   zk_put_multi_end             |
 *
 *   A whole reply frame: start = zk_reply_begin(w, xid, zxid, err), the body
 *   (only when err == 0), then zk_frame_end(w, start) patches the length.
 *   The ConnectResponse has no ReplyHeader: zk_frame_begin instead.
 *
 * Invariants
 *   1. A decoder never reads outside [frame, frame + len), accepts a frame
 *      only if it consumed every byte, and never allocates.
 *   2. A string or buffer longer than max_len is ZK_MALFORMED.
 *   3. A struct zk_vec returned by a decoder holds a well-formed vector (the
 *      iterators on it never fail); raw is the whole jute encoding including
 *      the count, so it can be stored or re-sent as it is.
 *   4. A struct zk_ops returned by a decoder holds well-formed ops of the
 *      types multi and multiRead allow, ending with the done marker.
 *   5. Writers never fail on their own: a failed allocation or a full fixed
 *      buffer is sticky in the writer (jute_writer_ok), which zk_frame_end
 *      reports.
 */
#ifndef ZABFS_ZKPROTO_H
#define ZABFS_ZKPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/types.h"

/* ---------------------------------------------------------------- opcodes */

/*
 * X(name, code, record): the opcodes a client may send, and which union
 * member of struct zk_request (which record shape) carries the body.
 * "none": the request has no body.
 */
#define ZK_OP_MAP(X)                                                         \
	X(CREATE, 1, create)                                                 \
	X(DELETE, 2, path_version)                                           \
	X(EXISTS, 3, path_watch)                                             \
	X(GET_DATA, 4, path_watch)                                           \
	X(SET_DATA, 5, set_data)                                             \
	X(GET_ACL, 6, path)                                                  \
	X(SET_ACL, 7, set_acl)                                               \
	X(GET_CHILDREN, 8, path_watch)                                       \
	X(SYNC, 9, path)                                                     \
	X(PING, 11, none)                                                    \
	X(GET_CHILDREN2, 12, path_watch)                                     \
	X(CHECK, 13, path_version)                                           \
	X(MULTI, 14, multi)                                                  \
	X(CREATE2, 15, create)                                               \
	X(RECONFIG, 16, reconfig)                                            \
	X(CHECK_WATCHES, 17, path_type)                                      \
	X(REMOVE_WATCHES, 18, path_type)                                     \
	X(CREATE_CONTAINER, 19, create)                                      \
	X(CREATE_TTL, 21, create_ttl)                                        \
	X(MULTI_READ, 22, multi)                                             \
	X(AUTH, 100, auth)                                                   \
	X(SET_WATCHES, 101, set_watches)                                     \
	X(SASL, 102, sasl)                                                   \
	X(GET_EPHEMERALS, 103, path)                                         \
	X(GET_ALL_CHILDREN_NUMBER, 104, path)                                \
	X(SET_WATCHES2, 105, set_watches2)                                   \
	X(ADD_WATCH, 106, path_type)                                         \
	X(WHO_AM_I, 107, none)                                               \
	X(CLOSE_SESSION, -11, none)

enum zk_op {
#define ZK_OP_ENUM(name, code, record) ZK_OP_##name = (code),
	ZK_OP_MAP(ZK_OP_ENUM)
#undef ZK_OP_ENUM
	/* Codes that are never a client request. */
	ZK_OP_NOTIFICATION = 0,
	ZK_OP_ERROR = -1, /* MultiHeader type of a failed op; end marker */
	ZK_OP_CREATE_SESSION = -10,
	ZK_OP_DELETE_CONTAINER = 20,
};

/* Special xids (ClientCnxn). */
enum zk_xid {
	ZK_XID_NOTIFICATION = -1,
	ZK_XID_PING = -2,
	ZK_XID_AUTH = -4,
	ZK_XID_SET_WATCHES = -8,
};

/* ------------------------------------------------------------ list views */

/*
 * An encoded vector<ACL> or vector<ustring>: count (-1 = null) and raw, the
 * whole encoding including the count prefix.  raw points into the frame.
 */
struct zk_vec {
	int32_t count;
	struct zk_bytes raw;
};

/* Encoded multi ops: count ops, raw = every MultiHeader and record up to and
 * including the done marker.  raw points into the frame. */
struct zk_ops {
	int32_t count;
	struct zk_bytes raw;
};

/* Reads a vector<ACL> / vector<ustring> at the reader's position, checking
 * every element (strings against r->max_len); on failure the reader fails
 * and the result is {0, {NULL, -1}}.  Used by other decoders (txn, logs). */
struct zk_vec zk_get_acls(struct jute_reader *r);
struct zk_vec zk_get_strings(struct jute_reader *r);

/* Walks the elements of an encoded vector (raw as in struct zk_vec). */
struct zk_vec_iter {
	struct jute_reader r;
	int32_t remaining;
};

/* raw as in struct zk_vec (or an ACL list as stored in a transaction); a
 * null view (len -1) iterates as an empty list. */
void zk_vec_iter_init(struct zk_vec_iter *it, struct zk_bytes raw);
/* 1 and *out set: one element; 0: no more (also for a null vector);
 * ZK_MALFORMED: raw was not a well-formed vector of that element type.
 * Views in *out point into raw. */
int zk_vec_next_acl(struct zk_vec_iter *it, struct zk_acl *out);
int zk_vec_next_string(struct zk_vec_iter *it, struct zk_bytes *out);

/* ---------------------------------------------------------------- records */

/*
 * X(kind, name) field lists, in wire order.  Kinds: bytes (ustring or
 * buffer, len -1 = null), i32, i64, boolean, acls (vector<ACL>), strings
 * (vector<ustring>), ops (multi ops).
 */
#define ZK_FIELDS_PATH(X) X(bytes, path)
#define ZK_FIELDS_PATH_WATCH(X) X(bytes, path) X(boolean, watch)
#define ZK_FIELDS_PATH_VERSION(X) X(bytes, path) X(i32, version)
/* type: WatcherType for check/removeWatches, AddWatchMode for addWatch */
#define ZK_FIELDS_PATH_TYPE(X) X(bytes, path) X(i32, type)
#define ZK_FIELDS_CREATE(X)                                                  \
	X(bytes, path) X(bytes, data) X(acls, acl) X(i32, flags)
#define ZK_FIELDS_CREATE_TTL(X)                                              \
	X(bytes, path)                                                       \
	X(bytes, data) X(acls, acl) X(i32, flags) X(i64, ttl)
#define ZK_FIELDS_SET_DATA(X) X(bytes, path) X(bytes, data) X(i32, version)
#define ZK_FIELDS_SET_ACL(X) X(bytes, path) X(acls, acl) X(i32, version)
#define ZK_FIELDS_RECONFIG(X)                                                \
	X(bytes, joining_servers)                                            \
	X(bytes, leaving_servers) X(bytes, new_members) X(i64, cur_config_id)
#define ZK_FIELDS_AUTH(X) X(i32, type) X(bytes, scheme) X(bytes, auth)
#define ZK_FIELDS_SASL(X) X(bytes, token)
#define ZK_FIELDS_SET_WATCHES(X)                                             \
	X(i64, relative_zxid)                                                \
	X(strings, data_watches) X(strings, exist_watches)                   \
	X(strings, child_watches)
/* SetWatches2 extends SetWatches: the common initial fields line up. */
#define ZK_FIELDS_SET_WATCHES2(X)                                            \
	ZK_FIELDS_SET_WATCHES(X)                                             \
	X(strings, persistent_watches) X(strings, persistent_recursive_watches)
#define ZK_FIELDS_MULTI(X) X(ops, ops)

/* R(record, FIELDS): every record shape, named as in ZK_OP_MAP. */
#define ZK_RECORD_MAP(R)                                                     \
	R(path, ZK_FIELDS_PATH)                                              \
	R(path_watch, ZK_FIELDS_PATH_WATCH)                                  \
	R(path_version, ZK_FIELDS_PATH_VERSION)                              \
	R(path_type, ZK_FIELDS_PATH_TYPE)                                    \
	R(create, ZK_FIELDS_CREATE)                                          \
	R(create_ttl, ZK_FIELDS_CREATE_TTL)                                  \
	R(set_data, ZK_FIELDS_SET_DATA)                                      \
	R(set_acl, ZK_FIELDS_SET_ACL)                                        \
	R(reconfig, ZK_FIELDS_RECONFIG)                                      \
	R(auth, ZK_FIELDS_AUTH)                                              \
	R(sasl, ZK_FIELDS_SASL)                                              \
	R(set_watches, ZK_FIELDS_SET_WATCHES)                                \
	R(set_watches2, ZK_FIELDS_SET_WATCHES2)                              \
	R(multi, ZK_FIELDS_MULTI)

#define ZK_FIELD_TYPE_bytes struct zk_bytes
#define ZK_FIELD_TYPE_i32 int32_t
#define ZK_FIELD_TYPE_i64 int64_t
#define ZK_FIELD_TYPE_boolean bool
#define ZK_FIELD_TYPE_acls struct zk_vec
#define ZK_FIELD_TYPE_strings struct zk_vec
#define ZK_FIELD_TYPE_ops struct zk_ops

/* struct zk_<record>_request, one per record shape. */
#define ZK_FIELD_DECL(kind, name) ZK_FIELD_TYPE_##kind name;
#define ZK_RECORD_DECL(record, FIELDS)                                       \
	struct zk_##record##_request {                                       \
		FIELDS(ZK_FIELD_DECL)                                        \
	};
ZK_RECORD_MAP(ZK_RECORD_DECL)
#undef ZK_RECORD_DECL
#undef ZK_FIELD_DECL

/* The body of a request; ZK_OP_MAP names the member for each opcode. */
union zk_request_body {
#define ZK_RECORD_MEMBER(record, FIELDS) struct zk_##record##_request record;
	ZK_RECORD_MAP(ZK_RECORD_MEMBER)
#undef ZK_RECORD_MEMBER
};

/* A decoded request: RequestHeader + body.  Views point into the frame. */
struct zk_request {
	int32_t xid;
	int32_t type; /* enum zk_op */
	union zk_request_body u;
};

/*
 * Decodes one client frame after the handshake: frame is the frame's body
 * (the bytes after the 4-byte length prefix), len its length.  Strings and
 * buffers longer than max_len are refused.  Returns
 *   0                 *out holds the request;
 *   ZK_UNIMPLEMENTED  the opcode is not one of ZK_OP_MAP (xid, type set);
 *   ZK_MALFORMED      shorter than a header (nothing set), or the body is
 *                     truncated, has trailing bytes, a bad length or count,
 *                     or a multi holds an op type multi does not allow
 *                     (xid and type set).
 * check (13) alone decodes; refusing it is the server's business.
 */
int zk_request_decode(const uint8_t *frame, size_t len, int32_t max_len,
		      struct zk_request *out);

/* Writes RequestHeader + body of req (no length prefix); the inverse of
 * zk_request_decode, for the sides that act as a client (tests, tools).
 * Lists are copied from their raw views (a null view writes a null vector,
 * or an empty multi); build them with zk_put_acl_list, zk_vec_begin/
 * zk_vec_put_string/zk_vec_end, or zk_multi_op_encode + zk_put_multi_end.
 * Returns 0, ZK_UNIMPLEMENTED for a type outside ZK_OP_MAP, or ZK_NOMEM
 * when the writer has failed. */
int zk_request_encode(struct jute_writer *w, const struct zk_request *req);

/* One op of a multi or multiRead: the MultiHeader's type and the record. */
struct zk_multi_op {
	int32_t type; /* create, create2, createContainer, createTTL, delete,
			 setData, check, getChildren or getData */
	union zk_request_body u;
};

struct zk_multi_iter {
	struct jute_reader r;
	bool done;
};

/* A null view (ops.raw.len -1) iterates as an empty multi. */
void zk_multi_iter_init(struct zk_multi_iter *it, struct zk_ops ops);
/* 1 and *op set: one op (views into ops.raw); 0: done marker reached;
 * ZK_MALFORMED: ops.raw is not well formed (never after a decode). */
int zk_multi_next(struct zk_multi_iter *it, struct zk_multi_op *op);

/* Writes one op of a multi request: MultiHeader{type, false, -1} + record.
 * Returns 0 or ZK_UNIMPLEMENTED for an op type multi does not allow.
 * Finish the list with zk_put_multi_end. */
int zk_multi_op_encode(struct jute_writer *w, const struct zk_multi_op *op);

/* -------------------------------------------------------------- handshake */

#define ZK_PASSWD_LEN 16

struct zk_connect_request {
	int32_t protocol_version;
	int64_t last_zxid_seen;
	int32_t timeout_ms;
	int64_t session_id; /* 0 = new session */
	struct zk_bytes passwd; /* view into the frame; length not checked */
	bool read_only;
	bool has_read_only; /* the trailing readOnly byte was present */
};

/* Decodes the first frame of a connection (body after the length prefix):
 * 0, or ZK_MALFORMED if it is truncated or has a password longer than
 * max_len.  Bytes after the optional readOnly byte are ignored, as
 * ZooKeeper ignores them. */
int zk_connect_request_decode(const uint8_t *frame, size_t len,
			      int32_t max_len, struct zk_connect_request *out);
/* The client's side, for tests and tools: the body, readOnly byte only when
 * has_read_only. */
void zk_put_connect_request(struct jute_writer *w,
			    const struct zk_connect_request *c);

struct zk_connect_response {
	int32_t protocol_version;
	int32_t timeout_ms; /* negotiated; 0 tells the client it expired */
	int64_t session_id;
	uint8_t passwd[ZK_PASSWD_LEN];
	bool read_only;
	bool has_read_only; /* echo the request's style */
};

/* The body: 37 bytes with the readOnly byte, 36 without. */
void zk_put_connect_response(struct jute_writer *w,
			     const struct zk_connect_response *c);

/* ------------------------------------------------------------- responses */

void zk_put_reply_header(struct jute_writer *w, int32_t xid, int64_t zxid,
			 int32_t err);
/* Stat in wire order, 68 bytes. */
void zk_put_stat(struct jute_writer *w, const struct zk_stat *st);
/* WatcherEvent{type; state; path}: the body of an xid -1 notification. */
void zk_put_watcher_event(struct jute_writer *w, int32_t type, int32_t state,
			  struct zk_bytes path);
/* vector<ACL> from decoded entries. */
void zk_put_acl_list(struct jute_writer *w, const struct zk_acl_list *acl);

void zk_put_create2_response(struct jute_writer *w, struct zk_bytes path,
			     const struct zk_stat *st);
void zk_put_get_data_response(struct jute_writer *w, struct zk_bytes data,
			      const struct zk_stat *st);
void zk_put_get_acl_response(struct jute_writer *w,
			     const struct zk_acl_list *acl,
			     const struct zk_stat *st);
/* acl_raw: an encoded vector<ACL> (as stored), copied as it is. */
void zk_put_get_acl_response_raw(struct jute_writer *w,
				 struct zk_bytes acl_raw,
				 const struct zk_stat *st);

/* A vector written one element at a time; zk_vec_end patches the count. */
struct zk_vec_builder {
	size_t count_off; /* offset of the count in the writer */
	int32_t count;
};

void zk_vec_begin(struct jute_writer *w, struct zk_vec_builder *b);
void zk_vec_put_string(struct jute_writer *w, struct zk_vec_builder *b,
		       struct zk_bytes s);
/* One ClientInfo{authScheme; user} of a WhoAmIResponse. */
void zk_vec_put_client_info(struct jute_writer *w, struct zk_vec_builder *b,
			    struct zk_bytes scheme, struct zk_bytes user);
void zk_vec_end(struct jute_writer *w, const struct zk_vec_builder *b);

/* MultiHeader{type; done; err}. */
void zk_put_multi_header(struct jute_writer *w, int32_t type, bool done,
			 int32_t err);
/* A failed op's result: MultiHeader{-1, false, err} + ErrorResponse{err}. */
void zk_put_multi_error(struct jute_writer *w, int32_t err);
/* The done marker {-1, true, -1} that ends multi requests and responses. */
void zk_put_multi_end(struct jute_writer *w);

/* Reserves the 4-byte length prefix of a frame; returns its offset. */
size_t zk_frame_begin(struct jute_writer *w);
/* zk_frame_begin + ReplyHeader. */
size_t zk_reply_begin(struct jute_writer *w, int32_t xid, int64_t zxid,
		      int32_t err);
/* Patches the length of the frame begun at start.  0, ZK_NOMEM if the
 * writer has failed (allocation, or a full fixed buffer), ZK_TOOBIG if the
 * body is over INT32_MAX bytes. */
int zk_frame_end(struct jute_writer *w, size_t start);

/* ------------------------------------------------------ four-letter words */

/* The command whose four ASCII letters, read as a big-endian int32, are
 * first_word (the "length" of a connection's first frame), or NULL. */
const char *zk_4lw_name(int32_t first_word);

#endif
