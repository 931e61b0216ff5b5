/* bench_mapreduce: EDGELESS's functions/bench_mapreduce in C: fan-in and fan-out of f32 vectors.
 * Init payload as EDGELESS's: "is_first=false,is_last=false,use_base64=true,inputs=0:1:2,outputs=0:1"
 * (init_id_from_redis=true: the first reads its first transaction number from a call to "redis"
 * with "last_transaction_id", and the last casts each finished number to "redis").
 *
 * A message is big-endian u32 transaction, u32 source, then f32 data (base64 with use_base64).
 * The first takes the whole payload as data, numbers it (logging "tbegin N") and casts it to
 * out-K for each output K with source K. The others keep the latest message of each expected
 * source, dropping those of older transactions; once every input of the newest transaction is
 * in, the last logs "tend N", and the others add the vectors (over the shortest length), cast
 * the sum to each output and forget them. Invalid messages, unexpected sources, calls and
 * contradictory configuration are reported as text on "err". A payload that is not base64 when
 * use_base64 is set traps the instance, as EDGELESS's decoder panics it.
 *
 * EDGELESS adds the vectors in its hash map's order, which Rust does not define; this adds them
 * in the order of the inputs list. */
#include "edgeless.h"

#define MAX_IO 20

static int from_redis, is_first, is_last, use_base64;
static u32 inputs[MAX_IO], input_count, outputs[MAX_IO], output_count;
static u32 transaction_id;
/* The pending message of each input (by its place in inputs), kept across casts. */
static struct { int present; u32 transaction; u8 *data; u32 len, cap; } pending[MAX_IO];

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put_be32(u8 *p, u32 v) { p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }

static void log_number(const char *target, u32 value) {
    char text[21];
    ed_log_to(EDGELESS_TRACE, target, text, ed_format_int(value, text));
}

/* Casts transaction, source and data to out-K for each output K. */
static void fan_out(u32 transaction, const u8 *data, u32 len) {
    u8 *message = edgeless_mem_alloc(8 + len);
    u8 *encoded = use_base64 ? edgeless_mem_alloc((8 + len + 2) / 3 * 4) : 0;
    if (!message || (use_base64 && !encoded)) { ed_log(EDGELESS_ERROR, "bench_mapreduce: no memory for the message (limits.memory)"); return; }
    put_be32(message, transaction);
    ed_memcpy(message + 8, data, len);
    for (u32 o = 0; o < output_count; o++) {
        put_be32(message + 4, outputs[o]);
        char alias[16];
        ed_out out = ed_out_init(alias, sizeof alias);
        ed_out_str(&out, "out-");
        ed_out_int(&out, outputs[o]);
        if (use_base64) cast_asm(alias, ed_out_done(&out), encoded, ed_base64_encode(message, 8 + len, encoded));
        else cast_asm(alias, ed_out_done(&out), message, 8 + len);
    }
}

void handle_init(const u8 *p, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    from_redis = ed_param_bool(p, len, "init_id_from_redis");
    is_first = ed_param_bool(p, len, "is_first");
    is_last = ed_param_bool(p, len, "is_last");
    use_base64 = ed_param_bool(p, len, "use_base64");
    input_count = ed_param_uints(p, len, "inputs", inputs, MAX_IO);
    output_count = ed_param_uints(p, len, "outputs", outputs, MAX_IO);
    if (is_first && input_count) ed_cast_str("err", "init error: first element with non-empty inputs");
    if (!is_first && !input_count) ed_cast_str("err", "init error: non-first element with empty inputs");
    if (is_last && output_count) ed_cast_str("err", "init error: last element with non-empty outputs");
    if (!is_last && !output_count) ed_cast_str("err", "init error: non-last element with empty outputs");
    if (is_first && is_last) ed_cast_str("err", "init error: element indicated as first and last");
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (is_first && from_redis && transaction_id == 0) {
        u8 *reply = 0;
        u32 reply_len = 0;
        int ok = 0;
        i64 last = 0;
        if (ed_call("redis", "last_transaction_id", 19, &reply, &reply_len) == EDGELESS_REPLY) last = ed_parse_int(reply, reply_len, &ok);
        transaction_id = ok && last >= 0 && last <= 0xffffffffll ? (u32)last : 0;
    }
    const u8 *bytes = payload;
    u32 size = len;
    if (use_base64) {
        u8 *decoded = edgeless_mem_alloc(len / 4 * 3 + 3);
        i32 decoded_len = decoded ? ed_base64_decode(payload, len, decoded) : -1;
        if (decoded_len < 0) __builtin_trap();
        bytes = decoded;
        size = (u32)decoded_len;
    }
    size -= size % 4; /* whole f32s only */

    if (is_first) {
        log_number("tbegin", transaction_id);
        fan_out(transaction_id++, bytes, size);
        return;
    }
    if (size < 8) {
        char text[80];
        ed_out out = ed_out_init(text, sizeof text);
        ed_out_str(&out, "error: discarded invalid message casted (size ");
        ed_out_int(&out, len);
        ed_out_str(&out, ")");
        ed_cast("err", text, ed_out_done(&out));
        return;
    }
    u32 transaction = be32(bytes), source = be32(bytes + 4), at = input_count;
    for (u32 i = 0; i < input_count; i++) if (inputs[i] == source) { at = i; break; }
    if (at == input_count) {
        char text[160];
        ed_out out = ed_out_init(text, sizeof text);
        ed_out_str(&out, "error: discarded message from unexpected source ");
        ed_out_int(&out, source);
        ed_out_str(&out, " (expected: ");
        for (u32 i = 0; i < input_count; i++) { if (i) ed_out_str(&out, ","); ed_out_int(&out, inputs[i]); }
        ed_out_str(&out, ")");
        ed_cast("err", text, ed_out_done(&out));
        return;
    }
    if (pending[at].cap < size - 8) {
        /* Kept memory cannot be given back: grow to the largest message seen. */
        pending[at].data = ed_alloc_kept(size - 8);
        if (!pending[at].data) { pending[at].cap = 0; ed_log(EDGELESS_ERROR, "bench_mapreduce: no memory for a pending message (limits.memory)"); return; }
        pending[at].cap = size - 8;
    }
    ed_memcpy(pending[at].data, bytes + 8, size - 8);
    pending[at].len = size - 8;
    pending[at].transaction = transaction;
    pending[at].present = 1;

    u32 newest = 0, complete = 0;
    for (u32 i = 0; i < input_count; i++) if (pending[i].present && pending[i].transaction > newest) newest = pending[i].transaction;
    /* EDGELESS keys the pending messages by source: an input listed twice counts once. */
    u32 distinct = 0;
    for (u32 i = 0; i < input_count; i++) {
        int seen = 0;
        for (u32 j = 0; j < i; j++) seen |= inputs[j] == inputs[i];
        if (seen) continue;
        distinct++;
        if (pending[i].present && pending[i].transaction != newest) pending[i].present = 0;
        complete += pending[i].present;
    }
    if (complete != distinct || distinct != input_count) return;
    if (is_last) {
        log_number("tend", newest);
        if (from_redis) {
            char text[21];
            ed_cast("redis", text, ed_format_int(newest, text));
        }
        return;
    }
    u32 shortest = pending[0].len;
    for (u32 i = 1; i < input_count; i++) if (pending[i].len < shortest) shortest = pending[i].len;
    u8 *sum = pending[0].data;
    for (u32 i = 1; i < input_count; i++) {
        for (u32 b = 0; b < shortest; b += 4) {
            union { float f; u32 bits; } x = { 0 }, y = { 0 };
            x.bits = be32(sum + b);
            y.bits = be32(pending[i].data + b);
            x.f += y.f;
            put_be32(sum + b, x.bits);
        }
    }
    fan_out(newest, sum, pending[0].len);
    for (u32 i = 0; i < input_count; i++) pending[i].present = 0;
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) {
    (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl;
    ed_cast_str("err", "error: call handler invoked");
    return EDGELESS_NO_REPLY;
}

void handle_stop(void) {}
