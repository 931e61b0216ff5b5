/* map: splits job "N" into four parts, casting "N V" with V = 4N + i to "p1".."p4". */
#include "edgeless.h"
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    static const char *const outputs[4] = { "p1", "p2", "p3", "p4" };
    int ok = 0;
    i64 job = ed_parse_int(payload, len, &ok);
    if (!ok || job < 0 || job > 100000000) { ed_log(EDGELESS_WARN, "map: payload is not a job number"); return; }
    for (i64 i = 1; i <= 4; i++) {
        char text[48];
        ed_out out = ed_out_init(text, sizeof text);
        ed_out_int(&out, job);
        ed_out_str(&out, " ");
        ed_out_int(&out, job * 4 + i);
        ed_cast(outputs[i - 1], text, ed_out_done(&out));
    }
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
