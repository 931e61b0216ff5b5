/* counter, as EDGELESS's functions/counter: starts from its init-payload (0 if that is not a
 * number), then once a second casts the next number on "output" and to itself. */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    int ok = 0;
    (void)ed_parse_int(p, l, &ok);
    if (ok && l > 0) ed_cast("self", p, l); else ed_cast("self", "0", 1);
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    int ok = 0;
    i64 count = ed_parse_int(p, l, &ok);
    if (!ok) return;
    char text[21];
    u32 length = ed_format_int(count + 1, text);
    ed_cast("output", text, length);
    ed_delayed_cast(1000, "self", text, length);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
