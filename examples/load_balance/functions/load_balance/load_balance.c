/* load_balance, as EDGELESS's: casts each event to the next of out1 … outN in turn
 * (init-payload "num_outputs=N", 1 to 9). */
#include "edgeless.h"
static i64 outputs;
static i64 last;
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    outputs = ed_param_int(p, l, "num_outputs", 0);
    if (outputs < 0 || outputs > 9) outputs = 0;
}
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    if (outputs == 0) return;
    last = (last + 1) % outputs;
    char alias[5] = {'o', 'u', 't', (char)('1' + last), 0};
    ed_cast(alias, p, l);
}
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_CALL_ERROR; }
void handle_stop(void) {}
