/* vector_mul: EDGELESS's functions/vector_mul in C. Init payload as EDGELESS's:
 * "seed=42,is_client=true,input_size=10000".
 *
 * The client (is_client) casts to itself 1 s after init; on every cast it logs "tend N" for the
 * transaction it sent last (none before the first), draws input_size f32 from EDGELESS's
 * generator seeded with seed, and casts "N,x1,…,xn" to "out" (N = 1, 2, …), logging "tbegin N".
 * It ignores what the cast carried. A processing function draws an input_size × input_size
 * matrix from the same generator at init; each cast "N,x1,…,xn" it parses as n + 1 numbers (one
 * that does not parse counts as 0) and casts "N,y1,…,yn" to "out", where y = matrix × v and v is
 * the parsed list — N at v[0] included, x_n left out, exactly as EDGELESS's indexes it. A message
 * with another count of numbers traps the instance, as EDGELESS's assertion panics it.
 *
 * Numbers are written as Rust's Display writes an f32 (shortest digits that read back to the same
 * f32, never an exponent: "0.16977254", "1", "0.0000123") and read back to the nearest f32. Both
 * use f64 arithmetic, exact while the decimal exponent stays within 10^±22 (every value here but
 * the rare draw below 1e-13). "inf" and "NaN", which Rust reads, read as 0 here.
 *
 * Not in EDGELESS's: a call answers the last payload this instance received (at most 50 bytes
 * a number), so a check can compare it with its own. EDGELESS's answers a call with nothing, and
 * no workflow calls it. */
#include "edgeless.h"

static const double P10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60 };

static int is_client, ready;
static u32 n;
static i64 next_id;
static ed_lcg lcg;
static float *matrix;
static u8 *last;
static u32 last_len, last_cap;

static double scale(double v, i32 k) { return k >= 0 ? v * P10[k < 60 ? k : 60] : v / P10[-k < 60 ? -k : 60]; }

/* The d-digit decimal nearest v (half to even): its digits, and in *first the power of ten the
 * first digit stands for. e is that power's estimate, corrected here when v lies just across. */
static u64 round_digits(double v, i32 e, i32 d, i32 *first) {
    double scaled = scale(v, d - 1 - e);
    if (scaled >= P10[d]) scaled = scale(v, d - 1 - ++e);
    else if (scaled < P10[d - 1]) scaled = scale(v, d - 1 - --e);
    u64 t = (u64)scaled;
    double frac = scaled - (double)t;
    if (frac > 0.5 || (frac == 0.5 && (t & 1))) t++;
    if (t == (u64)P10[d]) { t /= 10; e++; } /* 9.99… rounded up to 10.0… */
    *first = e;
    return t;
}

/* x as Rust's Display writes an f32; returns the length (at most 50). */
static u32 format_f32(float x, char *out) {
    union { float f; u32 bits; } u = { x };
    u32 o = 0;
    if ((u.bits & 0x7f800000u) == 0x7f800000u) {
        const char *word = (u.bits & 0x7fffffu) ? "NaN" : (u.bits >> 31) ? "-inf" : "inf";
        while (*word) out[o++] = *word++;
        return o;
    }
    if (u.bits >> 31) out[o++] = '-';
    double v = x < 0 ? -(double)x : (double)x;
    if (v == 0) { out[o++] = '0'; return o; }
    i32 e = 0;
    if (v >= 1) while (e < 38 && v >= P10[e + 1]) e++;
    else while (scale(v, -e) < 1) e--;
    /* Every count of digits from the shortest up reads back to x: search for the shortest. */
    i32 lo = 1, hi = 9, first;
    while (lo < hi) {
        i32 mid = (lo + hi) / 2;
        u64 digits = round_digits(v, e, mid, &first);
        if ((float)scale((double)digits, first - mid + 1) == (float)v) hi = mid; else lo = mid + 1;
    }
    u64 digits = round_digits(v, e, lo, &first);
    char text[10];
    i32 count = 0;
    for (u64 t = digits; t; t /= 10) text[count++] = (char)('0' + t % 10);
    while (count > 1 && text[0] == '0') { for (i32 i = 0; i < count - 1; i++) text[i] = text[i + 1]; count--; }
    /* text holds the digits, last first; point: how many stand before the decimal point. */
    i32 point = first + 1;
    if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (i32 i = 0; i < -point; i++) out[o++] = '0';
        for (i32 i = count - 1; i >= 0; i--) out[o++] = text[i];
    } else {
        for (i32 k = 0; k < count; k++) {
            if (k == point) out[o++] = '.';
            out[o++] = text[count - 1 - k];
        }
        for (i32 k = count; k < point; k++) out[o++] = '0';
    }
    return o;
}

/* A decimal number as Rust's str::parse::<f32> reads it, nearest f32; *ok = 0 if it is none. */
static float parse_f32(const u8 *s, u32 len, int *ok) {
    u32 i = 0;
    int negative = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    u64 value = 0;
    i32 exponent = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (value < 100000000000000000ull) value = value * 10 + (s[i] - '0'); else exponent++;
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (value < 100000000000000000ull) { value = value * 10 + (s[i] - '0'); exponent--; }
        }
    }
    if (digits && i < len && (s[i] == 'e' || s[i] == 'E')) {
        int sign = 1, exp_ok = 0;
        i32 e = 0;
        if (++i < len && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, exp_ok = 1) if (e < 10000) e = e * 10 + (s[i] - '0');
        if (!exp_ok) digits = 0;
        exponent += sign * e;
    }
    *ok = digits && i == len;
    if (!*ok) return 0;
    float f = value ? (float)scale((double)value, exponent) : 0.0f;
    return negative ? -f : f;
}

void handle_init(const u8 *p, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    i64 seed = ed_param_int(p, len, "seed", 0);
    lcg.seed = seed >= 0 && seed <= 0xffffffffll ? (u32)seed : 0;
    is_client = ed_param_bool(p, len, "is_client");
    i64 size = ed_param_int(p, len, "input_size", 100);
    /* 4 bytes per matrix element, 50 per number of a message: 32 bits must hold both. */
    if (size < 0 || size > 32767) { ed_log(EDGELESS_ERROR, "vector_mul: input_size must be 0..32767"); return; }
    n = (u32)size;
    last_cap = (n + 1) * 51;
    last = ed_alloc_kept(last_cap);
    matrix = is_client ? 0 : ed_alloc_kept(n * n * 4);
    if (!last || (!is_client && !matrix)) { ed_log(EDGELESS_ERROR, "vector_mul: no memory for the matrix (limits.memory)"); return; }
    if (!is_client) for (u32 i = 0; i < n * n; i++) matrix[i] = ed_lcg_rand(&lcg);
    ready = 1;
    if (is_client) ed_delayed_cast(1000, "self", "", 0);
}

/* Casts "id,v1,…,vn" to "out". */
static void send(u64 id, const float *v) {
    u8 *text = edgeless_mem_alloc((n + 1) * 51);
    if (!text) { ed_log(EDGELESS_ERROR, "vector_mul: no memory for the message (limits.memory)"); return; }
    u32 o = ed_format_int((i64)id, (char *)text);
    for (u32 i = 0; i < n; i++) {
        text[o++] = ',';
        o += format_f32(v[i], (char *)text + o);
    }
    ed_cast("out", text, o);
}

static void log_number(const char *target, i64 value) {
    char text[21];
    ed_log_to(EDGELESS_TRACE, target, text, ed_format_int(value, text));
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (!ready) return;
    last_len = len < last_cap ? len : last_cap;
    ed_memcpy(last, payload, last_len);
    float *v = edgeless_mem_alloc((n + 1) * 4);
    if (!v) { ed_log(EDGELESS_ERROR, "vector_mul: no memory for the vector (limits.memory)"); return; }
    if (is_client) {
        if (next_id > 0) log_number("tend", next_id);
        next_id++;
        for (u32 i = 0; i < n; i++) v[i] = ed_lcg_rand(&lcg);
        log_number("tbegin", next_id);
        send((u64)next_id, v);
        return;
    }
    u32 count = 0;
    for (u32 start = 0; start <= len; count++) {
        u32 end = start;
        while (end < len && payload[end] != ',') end++;
        if (count > n) __builtin_trap(); /* more than n + 1 numbers */
        int ok = 0;
        v[count] = parse_f32(payload + start, end - start, &ok);
        start = end + 1;
    }
    if (count != n + 1) __builtin_trap();
    float *y = edgeless_mem_alloc(n * 4);
    if (!y) { ed_log(EDGELESS_ERROR, "vector_mul: no memory for the product (limits.memory)"); return; }
    for (u32 i = 0; i < n; i++) {
        float sum = 0.0f;
        const float *m = matrix + (u64)i * n;
        for (u32 j = 0; j < n; j++) sum += m[j] * v[j];
        y[i] = sum;
    }
    /* As Rust's "as usize": NaN and negatives are 0, and it saturates. */
    u64 id = v[0] > 0 ? (v[0] < 18446744073709551615.0f ? (u64)v[0] : 18446744073709551615ull) : 0;
    send(id, y);
}

i32 handle_call(const u8 *node, const u8 *component, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)node; (void)component; (void)payload; (void)len;
    *reply = last;
    *reply_len = last_len;
    return EDGELESS_REPLY;
}

void handle_stop(void) {}
