/* Casts during init, before the node has added it or its target: "1" to "out" and "2" to
 * itself, which forwards what it receives to "out". */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; ed_cast_str("out", "1"); ed_cast_str("self", "2"); }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; ed_cast("out", p, l); }
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
