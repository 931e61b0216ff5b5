/* trigger: drives the benchmark. Init payload "jobs=J inflight=K": keeps K jobs (at most 64,
 * what reduce can hold) outstanding, casting job numbers "1".."J" to "map"; each "N" that comes
 * back from reduce on its "done" output lets the next one go. When all J are done it casts
 * "finished J jobs" to "log". */
#include "edgeless.h"

#define MAX_INFLIGHT 64

static i64 jobs = 1000, inflight = 8, sent, done;
static int finished;

static void send_next(void) {
    char text[21];
    sent++;
    ed_cast("map", text, ed_format_int(sent, text));
}

void handle_init(const u8 *payload, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    jobs = ed_param_int(payload, len, "jobs", 1000);
    inflight = ed_param_int(payload, len, "inflight", 8);
    if (jobs < 0) jobs = 0;
    if (inflight < 1) inflight = 1;
    if (inflight > MAX_INFLIGHT) inflight = MAX_INFLIGHT;
    /* Start a little later: the other functions of the workflow may not be running yet. */
    ed_delayed_cast(100, "self", "start", 5);
}

void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    if (ed_equals(payload, len, "start")) {
        if (sent || finished) return;
        while (sent < jobs && sent < inflight) send_next();
    } else {
        int ok = 0;
        ed_parse_int(payload, len, &ok);
        if (!ok || finished || done >= sent) { ed_log(EDGELESS_WARN, "trigger: unexpected cast"); return; }
        done++;
        if (sent < jobs) send_next();
    }
    if (!finished && done == jobs) {
        char line[48];
        ed_out out = ed_out_init(line, sizeof line);
        ed_out_str(&out, "finished ");
        ed_out_int(&out, jobs);
        ed_out_str(&out, " jobs");
        ed_cast("log", line, ed_out_done(&out));
        finished = 1;
    }
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
