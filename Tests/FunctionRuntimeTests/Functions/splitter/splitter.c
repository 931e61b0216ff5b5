/* Parses an integer and casts derived values to two outputs: n+1 to "plus", 2n to "twice". */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    int ok = 0;
    i64 n = ed_parse_int(payload, len, &ok);
    if (!ok) { ed_log(EDGELESS_ERROR, "not an integer"); return; }
    char text[21];
    ed_cast("plus", text, ed_format_int(n + 1, text));
    ed_cast("twice", text, ed_format_int(n * 2, text));
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
