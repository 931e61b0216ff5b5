/* Keeps a counter in synced state: survives a restart through handle_init's state.
 * The cast "crash" traps, to test the restart policy. */
#include "edgeless.h"
static i64 count;
void handle_init(const u8 *payload, u32 len, const u8 *state, u32 state_len) {
    (void)payload; (void)len;
    int ok = 0;
    if (state_len) { i64 saved = ed_parse_int(state, state_len, &ok); if (ok) count = saved; }
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    if (ed_equals(p, l, "crash")) __builtin_trap();
    char text[21];
    count++;
    sync_asm((const u8 *)text, ed_format_int(count, text));
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    static char text[21];
    *reply_len = ed_format_int(count, text);
    *reply = (const u8 *)text;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
