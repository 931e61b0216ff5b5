/* Answers specific casts with each kind of outgoing message. */
#include "edgeless.h"

static u8 self_node[16], self_component[16];

void handle_init(const u8 *payload, u32 len, const u8 *state, u32 state_len) {
    (void)state; (void)state_len;
    slf_asm(self_node, self_component);
    telemetry_log_asm(EDGELESS_INFO, "init", 4, (const char *)payload, len);
}

void handle_cast(const u8 *node, const u8 *component, const u8 *payload, u32 len) {
    (void)node; (void)component;
    if (ed_equals(payload, len, "cast")) {
        ed_cast_str("out", "hello");
    } else if (ed_equals(payload, len, "raw")) {
        cast_raw_asm(self_node, self_component, (const u8 *)"to-myself", 9);
    } else if (ed_equals(payload, len, "call")) {
        u8 *reply = 0; u32 reply_len = 0;
        i32 result = ed_call("out", "question", 8, &reply, &reply_len);
        if (result == EDGELESS_REPLY) telemetry_log_asm(EDGELESS_INFO, "reply", 5, (const char *)reply, reply_len);
        else ed_log(EDGELESS_WARN, result == EDGELESS_NO_REPLY ? "no reply" : "call error");
    } else if (ed_equals(payload, len, "callraw")) {
        u8 *reply = 0; u32 reply_len = 0;
        i32 result = call_raw_asm(node, component, (const u8 *)"raw-question", 12, &reply, &reply_len);
        ed_log(EDGELESS_INFO, result == EDGELESS_REPLY ? "raw reply" : (result == EDGELESS_NO_REPLY ? "raw no reply" : "raw call error"));
    } else if (ed_equals(payload, len, "delayed")) {
        ed_delayed_cast(1500, "out", "later", 5);
    } else if (ed_equals(payload, len, "self")) {
        ed_cast_str("self", "again");
    } else if (ed_equals(payload, len, "again")) {
        ed_log(EDGELESS_DEBUG, "got again");
    } else if (ed_equals(payload, len, "levels")) {
        for (i32 level = EDGELESS_ERROR; level <= EDGELESS_TRACE; level++) telemetry_log_asm(level, "levels", 6, "x", 1);
    } else {
        cast_asm("echo", 4, payload, len); /* any bytes, not only UTF-8 */
    }
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) { ed_log(EDGELESS_INFO, "stopping"); }
