/* Misbehaves on request; the runtime must report each and keep serving other instances. */
#include "edgeless.h"
#define BAD ((void *)0xFFFFFFF0u)
static volatile u32 sink;

static u32 recurse(u32 n) { volatile u8 pad[64]; pad[0] = (u8)n; return n == 0 ? pad[0] : recurse(n + 1) + pad[0]; }

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (ed_equals(payload, len, "loop")) { for (;;) sink++; }
    if (ed_equals(payload, len, "grow")) { for (;;) if (__builtin_wasm_memory_grow(0, 16) == (unsigned long)-1) __builtin_trap(); }
    if (ed_equals(payload, len, "trap")) __builtin_trap();
    if (ed_equals(payload, len, "recurse")) sink = recurse(1);
    if (ed_equals(payload, len, "huge")) {
        u32 size = 2u << 20;
        u8 *big = edgeless_mem_alloc(size);
        if (big) ed_cast("out", big, size);
    }
    if (ed_equals(payload, len, "cast")) cast_asm(BAD, 100, (const u8 *)"x", 1);
    if (ed_equals(payload, len, "cast-payload")) cast_asm("out", 3, BAD, 100);
    if (ed_equals(payload, len, "cast_raw")) cast_raw_asm(BAD, BAD, (const u8 *)"x", 1);
    if (ed_equals(payload, len, "call")) call_asm(BAD, 100, (const u8 *)"x", 1, BAD, BAD);
    if (ed_equals(payload, len, "call_raw")) call_raw_asm(BAD, BAD, (const u8 *)"x", 1, BAD, BAD);
    if (ed_equals(payload, len, "log")) telemetry_log_asm(EDGELESS_INFO, BAD, 10, BAD, 10);
    if (ed_equals(payload, len, "slf")) slf_asm(BAD, BAD);
    if (ed_equals(payload, len, "delayed")) delayed_cast_asm(5, BAD, 10, BAD, 10);
    if (ed_equals(payload, len, "sync")) sync_asm(BAD, 100);
    if (ed_equals(payload, len, "overflow")) sync_asm((const u8 *)0x10, 0xFFFFFFF8u);
}
/* Replies with a pointer outside memory. */
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    *reply = BAD; *reply_len = 64;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
