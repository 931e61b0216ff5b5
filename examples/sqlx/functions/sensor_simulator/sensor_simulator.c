/* sensor_simulator, as EDGELESS's functions/sensor_simulator: every `period` ms (init-payload
 * period=…,min-value=…,max-value=…, seed=…) it draws a number in [min-value, max-value] from
 * EDGELESS's linear congruential generator (glibc's constants) and casts it on "output".
 * EDGELESS prints an f32 in Rust's shortest form; this prints four decimals. min-value and
 * max-value are whole numbers here (EDGELESS's examples write them so). */
#include "edgeless.h"

static ed_lcg generator;
static i64 period = 1000, low = 0, high = 1;

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    period = ed_param_int(p, l, "period", 1000);
    low = ed_param_int(p, l, "min-value", 0);
    high = ed_param_int(p, l, "max-value", 1);
    generator.seed = (u32)ed_param_int(p, l, "seed", 0);
    if (period < 1) period = 1000;
    ed_cast("self", "", 0);
}

void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p; (void)l;
    /* value × 10^4, so that four decimals can be written without a float printer. */
    i64 scaled = low * 10000 + (i64)(ed_lcg_rand(&generator) * (float)((high - low) * 10000));
    char text[32];
    ed_out out = ed_out_init(text, sizeof text);
    if (scaled < 0) { ed_out_str(&out, "-"); scaled = -scaled; }
    ed_out_int(&out, scaled / 10000);
    ed_out_str(&out, ".");
    char frac[4] = { (char)('0' + scaled / 1000 % 10), (char)('0' + scaled / 100 % 10), (char)('0' + scaled / 10 % 10), (char)('0' + scaled % 10) };
    ed_out_bytes(&out, frac, 4);
    ed_cast("output", text, ed_out_done(&out));
    ed_delayed_cast(period, "self", "", 0);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
