/* soak_counter: counts the events soak_front casts to it; every 100th sets a 1 ms delayed
 * cast to itself, counted when it fires. A call answers "EVENTS TIMERS-SET TIMERS-FIRED", so
 * the benchmark can check that nothing was lost on the way. */
#include "edgeless.h"

static i64 events, timers_set, timers_fired;

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }

void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    if (l == 4 && ed_equals(p, 4, "tick")) { timers_fired++; return; }
    if (++events % 100 == 0) {
        timers_set++;
        ed_delayed_cast(1, "self", "tick", 4);
    }
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c; (void)p; (void)l;
    char *text = edgeless_mem_alloc(64);
    if (!text) return EDGELESS_CALL_ERROR;
    u32 length = ed_format_int(events, text);
    text[length++] = ' ';
    length += ed_format_int(timers_set, text + length);
    text[length++] = ' ';
    length += ed_format_int(timers_fired, text + length);
    *reply = (const u8 *)text;
    *reply_len = length;
    return EDGELESS_REPLY;
}

void handle_stop(void) {}
