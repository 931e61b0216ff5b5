/* http_read_number: takes a request from the http-ingress resource whose body is a decimal
 * number, answers 200 "ok" and casts the number to "cb_success"; anything else gets 400
 * "not a number" and nothing is cast. */
#include "edgeless.h"

static i32 respond(i64 status, const char *text, const u8 **reply, u32 *reply_len) {
    static u8 buf[256];
    static const char *const text_plain[] = { "content-type", "text/plain" };
    *reply_len = ed_http_response(buf, sizeof buf, status, (const u8 *)text, ed_strlen(text), text_plain, 1);
    *reply = buf;
    return *reply_len ? EDGELESS_REPLY : EDGELESS_CALL_ERROR;
}

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }

i32 handle_call(const u8 *n, const u8 *c, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c;
    u8 body[24]; /* 18 characters at most: no overflow in ed_parse_int */
    u32 body_len = 0;
    int ok = 0;
    i64 value = 0;
    if (ed_http_is_request(payload, len) && ed_http_body(payload, len, body, sizeof body, &body_len)) {
        u32 start = 0, end = body_len; /* tolerate spaces and a trailing newline (curl -d, echo) */
        while (start < end && (body[start] == ' ' || body[start] == '\t')) start++;
        while (end > start && (body[end - 1] == ' ' || body[end - 1] == '\n' || body[end - 1] == '\r' || body[end - 1] == '\t')) end--;
        if (end - start <= 18) value = ed_parse_int(body + start, end - start, &ok);
    }
    if (!ok) return respond(400, "not a number", reply, reply_len);
    char text[21];
    ed_cast("cb_success", text, ed_format_int(value, text));
    return respond(200, "ok", reply, reply_len);
}

void handle_stop(void) {}
