/* sensor: a simulated temperature sensor. Every 20 ms emits a reading (decimal text) on "out";
 * every 7th reading is a glitch of 150, outside any sane range. */
#include "edgeless.h"
static u32 seed = 12345, readings;
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; ed_delayed_cast(20, "self", "tick", 4); }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p; (void)l;
    seed = seed * 1103515245u + 12345u;
    i64 value = ++readings % 7 == 0 ? 150 : 15 + (i64)((seed >> 16) % 10);
    char text[21];
    ed_cast("out", text, ed_format_int(value, text));
    ed_delayed_cast(20, "self", "tick", 4);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
