/* counter with sealed NODE_LOCAL state: every 100 ms it counts one more, syncs the count
 * (on disk, sealed, when sync_asm returns) and then logs "tick N". Started again, on this node
 * or after a crash of it, it goes on from the count it last synced. */
#include "edgeless.h"

static i64 count;

void handle_init(const u8 *p, u32 l, const u8 *state, u32 state_len) {
    (void)p; (void)l;
    int ok = 0;
    i64 saved = ed_parse_int(state, state_len, &ok);
    count = ok ? saved : 0;
    ed_cast("self", "", 0);
}

void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p; (void)l;
    char text[32];
    u32 length = ed_format_int(++count, text);
    sync_asm((const u8 *)text, length);
    ed_out out = ed_out_init(text, sizeof text);
    ed_out_str(&out, "tick ");
    ed_out_int(&out, count);
    ed_cast("log", text, ed_out_done(&out));
    ed_delayed_cast(100, "self", "", 0);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
