/* matrix_mul: EDGELESS's functions/matrix_mul in C, to load the CPU. Init payload as EDGELESS's:
 * "seed=42,inter_arrival=2000,is_first=true,is_last=false,matrix_size=100,outputs=0:2".
 *
 * At init it draws a matrix_size × matrix_size f32 matrix from EDGELESS's generator seeded with
 * seed; every cast draws another from the same generator and replaces the matrix with
 * matrix × random. The first of a chain (is_first) casts to itself 1 s after init and then every
 * inter_arrival ms (0: only once), numbering transactions 0, 1, …; the others read the number
 * from the payload (not a number: 0). Each casts the number to out-N for every N in outputs
 * (missing: out-0; empty: none). As EDGELESS's, the first logs "tbegin N" and the last "tend N"
 * (level 5).
 *
 * Not in EDGELESS's: a call answers "EVENTS DIGEST", the products computed so far and a digest of
 * the matrix (FNV-1a, 64 bits, over each element's f32 bit pattern as one 32-bit word, in row
 * order; 16 hex digits), so a check can compare the product with its own. EDGELESS's answers a
 * call with nothing, and no workflow calls it. */
#include "edgeless.h"

#define MAX_OUTPUTS 20

static i64 inter_arrival = 1000, next_id;
static int is_first, is_last, ready;
static u32 n, outputs[MAX_OUTPUTS], output_count;
static ed_lcg lcg;
/* matrix and random (n × n) and one output row (n), kept for the instance's life. */
static float *matrix, *random, *row;
static i64 events;
static u64 digest;

static void update_digest(void) {
    u64 h = 0xcbf29ce484222325ull;
    for (u32 i = 0; i < n * n; i++) {
        union { float f; u32 bits; } v = { matrix[i] };
        h = (h ^ v.bits) * 0x100000001b3ull;
    }
    digest = h;
}

static void log_number(const char *target, i64 value) {
    char text[21];
    ed_log_to(EDGELESS_TRACE, target, text, ed_format_int(value, text));
}

void handle_init(const u8 *p, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    i64 seed = ed_param_int(p, len, "seed", 0);
    lcg.seed = seed >= 0 && seed <= 0xffffffffll ? (u32)seed : 0;
    inter_arrival = ed_param_int(p, len, "inter_arrival", 1000);
    if (inter_arrival < 0) inter_arrival = 1000;
    is_first = ed_param_bool(p, len, "is_first");
    is_last = ed_param_bool(p, len, "is_last");
    i64 size = ed_param_int(p, len, "matrix_size", 100);
    u32 vlen = 0;
    if (ed_param(p, len, "outputs", &vlen)) output_count = ed_param_uints(p, len, "outputs", outputs, MAX_OUTPUTS);
    else { outputs[0] = 0; output_count = 1; }
    /* 8 bytes per element for the two matrices: above 16383 the size no longer fits 32 bits. */
    if (size < 0 || size > 16383) { ed_log(EDGELESS_ERROR, "matrix_mul: matrix_size must be 0..16383"); return; }
    n = (u32)size;
    matrix = ed_alloc_kept(n * n * 4);
    random = ed_alloc_kept(n * n * 4);
    row = ed_alloc_kept(n * 4 + 4);
    if (!matrix || !random || !row) { ed_log(EDGELESS_ERROR, "matrix_mul: no memory for the matrices (limits.memory)"); return; }
    for (u32 i = 0; i < n * n; i++) matrix[i] = ed_lcg_rand(&lcg);
    update_digest();
    ready = 1;
    if (is_first) ed_delayed_cast(1000, "self", "", 0);
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (!ready) return;
    i64 id;
    if (is_first) {
        if (inter_arrival > 0) ed_delayed_cast(inter_arrival, "self", "", 0);
        log_number("tbegin", next_id);
        id = next_id++;
    } else {
        int ok = 0;
        id = ed_parse_int(payload, len, &ok);
        if (!ok || id < 0) id = 0;
    }
    for (u32 i = 0; i < n * n; i++) random[i] = ed_lcg_rand(&lcg);
    /* Row by row, each element summed over k in order from 0 as EDGELESS's inner loop does, so
     * the f32 rounding is the same; a finished row goes back in place of the one it came from. */
    for (u32 i = 0; i < n; i++) {
        for (u32 j = 0; j < n; j++) row[j] = 0.0f;
        for (u32 k = 0; k < n; k++) {
            float a = matrix[i * n + k];
            const float *r = random + k * n;
            for (u32 j = 0; j < n; j++) row[j] += a * r[j];
        }
        for (u32 j = 0; j < n; j++) matrix[i * n + j] = row[j];
    }
    events++;
    update_digest();
    if (is_last) log_number("tend", id);
    char text[21];
    u32 text_len = ed_format_int(id, text);
    for (u32 o = 0; o < output_count; o++) {
        int seen = 0; /* EDGELESS keeps its outputs in a set */
        for (u32 earlier = 0; earlier < o; earlier++) seen |= outputs[earlier] == outputs[o];
        if (seen) continue;
        char alias[16];
        ed_out out = ed_out_init(alias, sizeof alias);
        ed_out_str(&out, "out-");
        ed_out_int(&out, outputs[o]);
        cast_asm(alias, ed_out_done(&out), (const u8 *)text, text_len);
    }
}

i32 handle_call(const u8 *node, const u8 *component, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)node; (void)component; (void)payload; (void)len;
    static char answer[48];
    ed_out out = ed_out_init(answer, sizeof answer);
    ed_out_int(&out, events);
    ed_out_str(&out, " ");
    for (int shift = 60; shift >= 0; shift -= 4) ed_out_bytes(&out, &"0123456789abcdef"[digest >> shift & 15], 1);
    *reply = (const u8 *)answer;
    *reply_len = ed_out_done(&out);
    return EDGELESS_REPLY;
}

void handle_stop(void) {}
