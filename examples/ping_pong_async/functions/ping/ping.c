/* ping (async): casts "ping" to pong every 100 ms; counts the "pong" casts that come back. */
#include "edgeless.h"
static i64 pongs;
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; ed_delayed_cast(100, "self", "tick", 4); }
void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (ed_equals(payload, len, "tick")) {
        ed_cast_str("ponger", "ping");
        ed_delayed_cast(100, "self", "tick", 4);
    } else if (ed_equals(payload, len, "pong")) {
        pongs++;
    }
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    static char text[21];
    *reply_len = ed_format_int(pongs, text);
    *reply = (const u8 *)text;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
