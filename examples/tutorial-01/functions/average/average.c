/* average: moving average of the last 5 readings, sent on "out" as decimal text. */
#include "edgeless.h"
static i64 window[5];
static u32 seen;
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    int ok = 0;
    i64 value = ed_parse_int(payload, len, &ok);
    if (!ok) return;
    window[seen++ % 5] = value;
    u32 count = seen < 5 ? seen : 5;
    i64 sum = 0;
    for (u32 i = 0; i < count; i++) sum += window[i];
    char text[21];
    ed_cast("out", text, ed_format_int(sum / count, text));
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
