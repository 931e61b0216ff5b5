/* double, as EDGELESS's functions/double: a cast holding a whole number is cast on "result"
 * doubled; anything else is dropped. */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    int ok = 0;
    i64 value = ed_parse_int(p, l, &ok);
    if (!ok) return;
    char text[21];
    ed_cast("result", text, ed_format_int(2 * value, text));
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
