/* single_trigger, as EDGELESS's: after delay_ms (init-payload "delay_ms=N,message=TEXT") casts
 * TEXT once on "out". */
#include "edgeless.h"
static char message[64];
static u32 message_len;
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    for (u32 i = 0; i + 8 <= l; i++) {
        if ((i == 0 || p[i - 1] == ',') && ed_equals(p + i, 8, "message=")) {
            u32 start = i + 8, end = start;
            while (end < l && p[end] != ',' && end - start < sizeof(message)) end++;
            message_len = end - start;
            ed_memcpy(message, p + start, message_len);
            break;
        }
    }
    ed_delayed_cast(ed_param_int(p, l, "delay_ms", 0), "self", "", 0);
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p;
    if (l == 0) ed_cast("out", message, message_len);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
