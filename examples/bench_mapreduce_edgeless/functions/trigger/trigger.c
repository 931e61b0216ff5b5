/* trigger: EDGELESS's functions/trigger in C: generates events on "out" by an arrival model.
 * Init payload as EDGELESS's, e.g. "out_type=rand_vec,use_base64=true,size=1000,arrival=c(1000)":
 *   out_type  constant (casts value), counter (casts 0, 1, …), rand_vec (casts size f32 drawn once
 *             at init from EDGELESS's generator, big-endian; base64 with use_base64=true)
 *   arrival   c(T): every T ms; u(A;B): uniform in A…B ms; e(M): exponential with mean M ms
 *   seed      the generator's seed (default 0); log: with counter, "tbegin N" as each is sent
 * It casts the first event to itself at init. An empty cast sends one event and schedules the
 * next; anything else is an answer coming back, logged as "tend" when log is on. A bad payload
 * casts "Invalid output config: …" or "Invalid inter-arrival config: …" to "err" and the instance
 * stays idle (EDGELESS's would panic on its next event).
 *
 * e(M) needs a natural logarithm, which has no libc here: ln below is accurate to about 1e-7
 * relative, so an exponential delay can differ from EDGELESS's by 1 ms where it rounds. */
#include "edgeless.h"

enum { CONSTANT, COUNTER, RAND_VEC };
enum { ARRIVAL_CONSTANT, ARRIVAL_UNIFORM, ARRIVAL_EXPONENTIAL };

static int out_type, arrival, log_on, ready;
static i64 arrival_a, arrival_b, counter;
static ed_lcg lcg;
static u8 *output;
static u32 output_len;

static void err(const char *what, const char *why) {
    char text[96];
    ed_out out = ed_out_init(text, sizeof text);
    ed_out_str(&out, what);
    ed_out_str(&out, why);
    ed_cast("err", text, ed_out_done(&out));
}

/* ln(x) for x > 0: x = m·2^k with m in [√½, √2), ln m = 2 atanh((m − 1)/(m + 1)). */
static float ln(float x) {
    union { float f; u32 bits; } u = { x };
    i32 k = (i32)(u.bits >> 23) - 127;
    u.bits = (u.bits & 0x7fffffu) | 0x3f800000u;
    double m = u.f;
    if (m > 1.41421356) { m /= 2; k++; }
    double t = (m - 1) / (m + 1), t2 = t * t, sum = 0, power = t;
    for (int i = 1; i < 20; i += 2) { sum += power / i; power *= t2; }
    return (float)(2 * sum + k * 0.6931471805599453);
}

/* f32 rounded half away from zero, as Rust's round, then as usize. */
static i64 round_ms(float x) { return x <= 0 ? 0 : (i64)(x + 0.5f); }

static i64 next_delay(void) {
    switch (arrival) {
    case ARRIVAL_UNIFORM: return arrival_a + round_ms((float)(arrival_b - arrival_a) * ed_lcg_rand(&lcg));
    case ARRIVAL_EXPONENTIAL: {
        float r = ed_lcg_rand(&lcg);
        if (r < 1.17549435e-38f) r = 1.17549435e-38f; /* f32::MIN_POSITIVE for 0 */
        return round_ms(-ln(r) * (float)arrival_a);
    }
    default: return arrival_a;
    }
}

/* "c(T)", "u(A;B)", "e(M)" with blanks around; returns 0 and names the problem in *why. */
static int parse_arrival(const u8 *v, u32 len, const char **why) {
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\n')) len--;
    while (len && (*v == ' ' || *v == '\t' || *v == '\n')) { v++; len--; }
    if (!len) { *why = "empty interarrival"; return 0; }
    if (len < 4 || v[1] != '(' || v[len - 1] != ')') { *why = "invalid spec"; return 0; }
    const u8 *inside = v + 2;
    u32 inside_len = len - 3;
    u32 semicolon = 0;
    while (semicolon < inside_len && inside[semicolon] != ';') semicolon++;
    int ok = 0, ok_b = 0;
    switch (v[0] | 0x20) {
    case 'c':
    case 'e':
        arrival = (v[0] | 0x20) == 'c' ? ARRIVAL_CONSTANT : ARRIVAL_EXPONENTIAL;
        arrival_a = ed_parse_int(inside, inside_len, &ok);
        if (!ok || arrival_a < 0) { *why = arrival == ARRIVAL_CONSTANT ? "invalid constant period" : "invalid exponential mean"; return 0; }
        return 1;
    case 'u':
        arrival = ARRIVAL_UNIFORM;
        if (semicolon == inside_len) { *why = "invalid (min,max) uniform values"; return 0; }
        arrival_a = ed_parse_int(inside, semicolon, &ok);
        arrival_b = ed_parse_int(inside + semicolon + 1, inside_len - semicolon - 1, &ok_b);
        if (!ok || !ok_b || arrival_a < 0 || arrival_b < 0) { *why = "invalid uniform bounds"; return 0; }
        if (arrival_a >= arrival_b) { *why = "invalid bounds: min >= max"; return 0; }
        return 1;
    default: *why = "unknown interarrival type"; return 0;
    }
}

void handle_init(const u8 *p, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    int use_base64 = ed_param_bool(p, len, "use_base64");
    i64 seed = ed_param_int(p, len, "seed", 0);
    lcg.seed = seed >= 0 && seed <= 0xffffffffll ? (u32)seed : 0;
    u32 tlen = 0, vlen = 0;
    const u8 *type = ed_param(p, len, "out_type", &tlen);
    if (!type) { err("Invalid output config: ", "Missing out_type"); return; }
    if (ed_equals(type, tlen, "constant")) {
        const u8 *value = ed_param(p, len, "value", &vlen);
        if (!value) { err("Invalid output config: ", "Missing value"); return; }
        out_type = CONSTANT;
        output = ed_alloc_kept(vlen + 1);
        if (!output) return;
        ed_memcpy(output, value, vlen);
        output_len = vlen;
    } else if (ed_equals(type, tlen, "counter")) {
        out_type = COUNTER;
    } else if (ed_equals(type, tlen, "rand_vec")) {
        if (!ed_param(p, len, "size", &vlen)) { err("Invalid output config: ", "Missing size"); return; }
        i64 size = ed_param_int(p, len, "size", -1);
        if (size < 0 || size > 100000000) { err("Invalid output config: ", "invalid size"); return; }
        out_type = RAND_VEC;
        u32 bytes = (u32)size * 4;
        output = ed_alloc_kept(bytes + (bytes + 2) / 3 * 4);
        if (!output) { ed_log(EDGELESS_ERROR, "trigger: no memory for the vector (limits.memory)"); return; }
        for (u32 i = 0; i < bytes; i += 4) {
            union { float f; u32 bits; } u = { ed_lcg_rand(&lcg) };
            output[i] = (u8)(u.bits >> 24); output[i + 1] = (u8)(u.bits >> 16); output[i + 2] = (u8)(u.bits >> 8); output[i + 3] = (u8)u.bits;
        }
        output_len = bytes;
        if (use_base64) {
            /* Encoded behind the raw bytes, then moved down over them. */
            u32 encoded = ed_base64_encode(output, bytes, output + bytes);
            ed_memcpy(output, output + bytes, encoded);
            output_len = encoded;
        }
    } else {
        err("Invalid output config: ", "Unknown out_type");
        return;
    }
    const char *why = 0;
    u32 alen = 0;
    const u8 *spec = ed_param(p, len, "arrival", &alen);
    if (!parse_arrival(spec ? spec : (const u8 *)"", spec ? alen : 0, &why)) { err("Invalid inter-arrival config: ", why); return; }
    log_on = out_type == COUNTER && ed_param_bool(p, len, "log");
    ready = 1;
    ed_cast("self", "", 0);
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (!ready) return;
    if (len) {
        if (log_on) ed_log_to(EDGELESS_TRACE, "tend", payload, len);
        return;
    }
    char text[21];
    if (out_type == COUNTER) {
        u32 n = ed_format_int(counter++, text);
        ed_cast("out", text, n);
        if (log_on) ed_log_to(EDGELESS_TRACE, "tbegin", text, n);
    } else {
        ed_cast("out", output, output_len);
    }
    ed_delayed_cast(next_delay(), "self", "", 0);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
