/* process: for "N V" casts "N sq h" to "out": sq = V*V, and h the result of `work` rounds of a
 * 64-bit mixing hash seeded by V (init payload "work=W", default 0). h is part of the output, so
 * the compiler cannot drop the loop; W sets how much CPU one part costs. */
#include "edgeless.h"

static i64 work;

/* Splits "A B" into two decimal numbers. */
static int two_numbers(const u8 *p, u32 len, i64 *a, i64 *b) {
    u32 space = 0;
    while (space < len && p[space] != ' ') space++;
    if (space == len || space > 18 || len - space - 1 > 18) return 0;
    int ok_a = 0, ok_b = 0;
    *a = ed_parse_int(p, space, &ok_a);
    *b = ed_parse_int(p + space + 1, len - space - 1, &ok_b);
    return ok_a && ok_b;
}

void handle_init(const u8 *payload, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    work = ed_param_int(payload, len, "work", 0);
    if (work < 0) work = 0;
}

void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    i64 job, v;
    if (!two_numbers(payload, len, &job, &v) || v < 0 || v > 1000000000) { ed_log(EDGELESS_WARN, "process: payload is not \"N V\""); return; }
    u64 h = (u64)v * 0x9e3779b97f4a7c15ull;
    for (u64 i = 0; i < (u64)work; i++) {
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        h += i;
    }
    char text[72];
    ed_out out = ed_out_init(text, sizeof text);
    ed_out_int(&out, job);
    ed_out_str(&out, " ");
    ed_out_int(&out, v * v);
    ed_out_str(&out, " ");
    ed_out_int(&out, (i64)(h >> 1));
    ed_cast("out", text, ed_out_done(&out));
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
