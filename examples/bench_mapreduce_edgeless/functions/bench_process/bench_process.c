/* bench_process: EDGELESS's functions/bench_process in C: emulates processing. Init payload as
 * EDGELESS's: "forward=true,fibonacci=100000,allocate=0". Each cast computes the fibonacci-th
 * Fibonacci number in arbitrary precision, by as many big-number additions as EDGELESS's
 * (num_bigint, 64-bit digits; 32-bit digits here, which wasm32 adds with a carry natively), and
 * then, with forward, casts the payload unchanged to "out". allocate bytes are set aside at init
 * and never used, as EDGELESS's Vec::with_capacity. */
#include "edgeless.h"

static int forward;
static i64 fibonacci;

void handle_init(const u8 *p, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    forward = ed_param_bool(p, len, "forward");
    fibonacci = ed_param_int(p, len, "fibonacci", 0);
    if (fibonacci < 0) fibonacci = 0;
    i64 allocate = ed_param_int(p, len, "allocate", 0);
    if (allocate > 0 && allocate <= 0xffffffffll && !ed_alloc_kept((u32)allocate))
        ed_log(EDGELESS_ERROR, "bench_process: cannot set aside allocate bytes (limits.memory)");
}

/* f0, f1 = f1, f0 + f1, n times, on little-endian 32-bit digits; returns the digits of f0. */
static u32 fibonacci_digits(i64 n) {
    /* F(n) has about 0.695 n bits. */
    u32 cap = (u32)(n / 45) + 2;
    u32 *a = edgeless_mem_alloc(cap * 4), *b = edgeless_mem_alloc(cap * 4);
    if (!a || !b) { ed_log(EDGELESS_ERROR, "bench_process: no memory for the numbers (limits.memory)"); return 0; }
    for (u32 i = 0; i < cap; i++) a[i] = b[i] = 0;
    b[0] = 1;
    u32 used = 1;
    for (i64 step = 0; step < n; step++) {
        u64 carry = 0;
        for (u32 i = 0; i < used; i++) {
            u64 sum = (u64)a[i] + b[i] + carry;
            a[i] = (u32)sum;
            carry = sum >> 32;
        }
        if (carry) a[used++] = (u32)carry;
        u32 *t = a; a = b; b = t;
    }
    return used;
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    fibonacci_digits(fibonacci);
    if (forward) ed_cast("out", payload, len);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
