/* pong: answers every call with "pong". */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    *reply = (const u8 *)"pong"; *reply_len = 4;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
