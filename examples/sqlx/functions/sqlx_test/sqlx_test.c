/* sqlx_test, as EDGELESS's functions/sqlx_test: keeps {"foo": VALUE, "bar": …} in the sqlx
 * resource on its "database" output, in the row of its workflow ($1 is the workflow id). At
 * init it INSERTs foo = the init-payload and bar = "initial"; each cast (a number) UPDATEs foo
 * to it and bar to "subsequent", but only if a SELECT finds the row; at stop it DELETEs the
 * row. A payload that is not a number counts as 0, as EDGELESS's parse(..).unwrap_or_default(). */
#include "edgeless.h"

/* A decimal number as written ("-12.5"), else "0": only digits, one '.', a leading '-'. */
static void out_number(ed_out *out, const u8 *p, u32 l) {
    int dot = 0, digits = 0;
    for (u32 i = 0; i < l; i++) {
        if (p[i] >= '0' && p[i] <= '9') digits++;
        else if (p[i] == '.' && !dot) dot = 1;
        else if (!(p[i] == '-' && i == 0)) { digits = 0; break; }
    }
    if (digits && l <= 32) ed_out_bytes(out, p, l); else ed_out_str(out, "0");
}

static i32 database(const void *statement, u32 len, u8 **reply, u32 *reply_len) {
    return ed_call("database", statement, len, reply, reply_len);
}

static void store(const char *verb_before, const u8 *value, u32 l, const char *bar, const char *after) {
    char statement[256];
    ed_out out = ed_out_init(statement, sizeof statement);
    ed_out_str(&out, verb_before);
    ed_out_str(&out, "'{\"foo\":");
    out_number(&out, value, l);
    ed_out_str(&out, ",\"bar\":\"");
    ed_out_str(&out, bar);
    ed_out_str(&out, "\"}'");
    ed_out_str(&out, after);
    u8 *reply; u32 reply_len;
    database(statement, ed_out_done(&out), &reply, &reply_len);
}

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    store("INSERT INTO WorkflowState (id, metadata) Values($1, ", p, l, "initial", ")");
}

void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c;
    const char *select = "SELECT id, metadata FROM WorkflowState WHERE id=$1";
    u8 *reply; u32 reply_len;
    /* The row exists when the answer is a WorkflowState: {"id":…,"metadata":…}. */
    if (database(select, ed_strlen(select), &reply, &reply_len) != EDGELESS_REPLY || ed_json_find(reply, reply_len, "metadata") < 0) return;
    store("UPDATE WorkflowState SET metadata=", p, l, "subsequent", "  WHERE id = $1");
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }

void handle_stop(void) {
    const char *statement = "DELETE FROM WorkflowState WHERE id=$1";
    u8 *reply; u32 reply_len;
    database(statement, ed_strlen(statement), &reply, &reply_len);
}
