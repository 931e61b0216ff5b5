/* ticker: every 50 ms writes "tick N" to its "log" output (a file-log resource). The
 * init-payload annotation sets the prefix ("prefix=hello" → "hello N"). */
#include "edgeless.h"
static i64 ticks;
static char prefix[32] = "tick";
static u32 prefix_len = 4;
void handle_init(const u8 *payload, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    if (len > 7 && ed_equals(payload, 7, "prefix=") && len - 7 < sizeof(prefix)) {
        prefix_len = len - 7;
        ed_memcpy(prefix, payload + 7, prefix_len);
    }
    ed_delayed_cast(50, "self", "tick", 4);
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p; (void)l;
    char line[64];
    ed_memcpy(line, prefix, prefix_len);
    line[prefix_len] = ' ';
    u32 length = prefix_len + 1 + ed_format_int(++ticks, line + prefix_len + 1);
    ed_cast("log", line, length);
    ed_delayed_cast(50, "self", "tick", 4);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
