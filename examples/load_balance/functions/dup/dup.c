/* dup, as EDGELESS's: casts each event on both out1 and out2. */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    ed_cast("out1", p, l);
    ed_cast("out2", p, l);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_CALL_ERROR; }
void handle_stop(void) {}
