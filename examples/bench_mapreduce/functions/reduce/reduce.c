/* reduce: gathers the four parts "N sq h" of each job (parts of different jobs arrive
 * interleaved), and when job N is complete casts "job N sum S" (S the sum of the four sq) to
 * "log" and "N" to "done". Holds up to 64 jobs in progress, what trigger allows. */
#include "edgeless.h"

#define SLOTS 64
#define PARTS 4

static struct { i64 job, sum; u32 parts; } slots[SLOTS]; /* job 0: free */

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }

void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    /* "N sq h": N and sq are used; h only proves the work was done. */
    u32 a = 0;
    while (a < len && payload[a] != ' ') a++;
    u32 b = a + 1;
    while (b < len && payload[b] != ' ') b++;
    int ok_job = 0, ok_sq = 0;
    i64 job = a <= 18 ? ed_parse_int(payload, a, &ok_job) : 0;
    i64 sq = b < len && b - a - 1 <= 18 ? ed_parse_int(payload + a + 1, b - a - 1, &ok_sq) : 0;
    if (!ok_job || !ok_sq || job <= 0) { ed_log(EDGELESS_WARN, "reduce: payload is not \"N sq h\""); return; }

    u32 at = SLOTS, free_slot = SLOTS;
    for (u32 i = 0; i < SLOTS; i++) {
        if (slots[i].job == job) { at = i; break; }
        if (slots[i].job == 0 && free_slot == SLOTS) free_slot = i;
    }
    if (at == SLOTS) {
        if (free_slot == SLOTS) { ed_log(EDGELESS_ERROR, "reduce: more than 64 jobs in progress; part dropped"); return; }
        at = free_slot;
        slots[at].job = job; slots[at].sum = 0; slots[at].parts = 0;
    }
    slots[at].sum += sq;
    if (++slots[at].parts < PARTS) return;

    char line[64];
    ed_out out = ed_out_init(line, sizeof line);
    ed_out_str(&out, "job ");
    ed_out_int(&out, job);
    ed_out_str(&out, " sum ");
    ed_out_int(&out, slots[at].sum);
    ed_cast("log", line, ed_out_done(&out));
    slots[at].job = 0;
    char text[21];
    ed_cast("done", text, ed_format_int(job, text));
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
