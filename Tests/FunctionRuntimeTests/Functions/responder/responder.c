/* A call handler: "ping" → reply "pong", "quiet" → no reply, "fail" → error, else echo. */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }
i32 handle_call(const u8 *node, const u8 *component, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)node; (void)component;
    if (ed_equals(payload, len, "quiet")) return EDGELESS_NO_REPLY;
    if (ed_equals(payload, len, "fail")) return EDGELESS_CALL_ERROR;
    if (ed_equals(payload, len, "ping")) { *reply = (const u8 *)"pong"; *reply_len = 4; return EDGELESS_REPLY; }
    u8 *copy = edgeless_mem_alloc(len);
    ed_memcpy(copy, payload, len);
    *reply = copy; *reply_len = len;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
