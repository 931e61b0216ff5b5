/* sloppy_test, as EDGELESS's: a function that takes delay_ms (init-payload, default 1000) per
 * event. It holds each event as a delayed cast to itself, marked so it knows it on return,
 * then casts it on "out". */
#include "edgeless.h"
static i64 delay_ms = 1000;
static const char marker[] = "\x01sloppy:";
#define MARKER_LEN 8
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    delay_ms = ed_param_int(p, l, "delay_ms", 1000);
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    if (l >= MARKER_LEN && ed_equals(p, MARKER_LEN, marker)) {
        ed_cast("out", p + MARKER_LEN, l - MARKER_LEN);
        return;
    }
    u8 held[MARKER_LEN + 256];
    if (l > 256) return;
    ed_memcpy(held, marker, MARKER_LEN);
    ed_memcpy(held + MARKER_LEN, p, l);
    ed_delayed_cast(delay_ms, "self", held, MARKER_LEN + l);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
