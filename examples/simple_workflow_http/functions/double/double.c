/* double: casts 2n to "result" for each decimal number n it receives. */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    int ok = 0;
    i64 value = ed_parse_int(payload, len, &ok);
    if (!ok) { ed_log(EDGELESS_WARN, "double: payload is not a decimal number"); return; }
    char text[21];
    ed_cast("result", text, ed_format_int((i64)((u64)value * 2), text));
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
