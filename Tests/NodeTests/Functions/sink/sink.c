/* Counts integer casts and checks they arrive in increasing order; a call answers
 * "COUNT OUT_OF_ORDER". The count is synced, so it survives a restart of the workflow. */
#include "edgeless.h"
static i64 count, out_of_order, last = -1;
void handle_init(const u8 *p, u32 l, const u8 *state, u32 state_len) {
    (void)p; (void)l;
    int ok = 0;
    i64 saved = ed_parse_int(state, state_len, &ok);
    if (ok) count = saved;
}
void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    int ok = 0;
    i64 value = ed_parse_int(payload, len, &ok);
    if (!ok) return;
    if (value <= last) out_of_order++;
    last = value;
    count++;
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    static char text[48];
    u32 length = ed_format_int(count, text);
    text[length++] = ' ';
    length += ed_format_int(out_of_order, text + length);
    *reply = (const u8 *)text; *reply_len = length;
    return EDGELESS_REPLY;
}
void handle_stop(void) { char text[21]; sync_asm((const u8 *)text, ed_format_int(count, text)); }
