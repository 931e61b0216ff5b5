/* ping: every 100 ms (a delayed cast to itself) calls "pong" and counts the replies. The count
 * is synced, so a restarted ping continues from it. */
#include "edgeless.h"

static i64 pongs;

static void sync_count(void) { char text[21]; sync_asm((const u8 *)text, ed_format_int(pongs, text)); }

void handle_init(const u8 *payload, u32 len, const u8 *state, u32 state_len) {
    (void)payload; (void)len;
    int ok = 0;
    i64 saved = ed_parse_int(state, state_len, &ok);
    if (ok) pongs = saved;
    ed_delayed_cast(100, "self", "tick", 4);
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component; (void)payload; (void)len;
    u8 *reply = 0; u32 reply_len = 0;
    if (ed_call("ponger", "ping", 4, &reply, &reply_len) == EDGELESS_REPLY && ed_equals(reply, reply_len, "pong")) {
        pongs++;
        sync_count();
    }
    ed_delayed_cast(100, "self", "tick", 4);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    static char text[21];
    *reply_len = ed_format_int(pongs, text);
    *reply = (const u8 *)text;
    return EDGELESS_REPLY;
}

void handle_stop(void) { sync_count(); }
