/* filter: passes readings within [min, max] (init-payload "min=…,max=…") to "out"; reports the
 * others on "error". */
#include "edgeless.h"
static i64 min = 0, max = 100;
static i64 field(const u8 *p, u32 l, const char *name, i64 fallback) {
    u32 n = ed_strlen(name);
    for (u32 i = 0; i + n <= l; i++) {
        if ((i == 0 || p[i - 1] == ',') && ed_equals(p + i, n, name)) {
            u32 end = i + n;
            while (end < l && p[end] != ',') end++;
            int ok = 0;
            i64 v = ed_parse_int(p + i + n, end - i - n, &ok);
            return ok ? v : fallback;
        }
    }
    return fallback;
}
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)s; (void)sl; min = field(p, l, "min=", 0); max = field(p, l, "max=", 100); }
void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    int ok = 0;
    i64 value = ed_parse_int(payload, len, &ok);
    if (ok && value >= min && value <= max) { ed_cast("out", payload, len); return; }
    char line[96] = "reading out of range: ";
    u32 at = ed_strlen(line), take = len < 40 ? len : 40;
    ed_memcpy(line + at, payload, take);
    ed_cast("error", line, at + take);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
