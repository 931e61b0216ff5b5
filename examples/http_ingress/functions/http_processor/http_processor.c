/* http_processor: answers each request from the http-ingress resource with 200 and the body
 * "hello " + the request body (POST "world" → "hello world"). A payload that is not a request
 * gets 400. */
#include "edgeless.h"

static const char *const text_plain[] = { "content-type", "text/plain" };

/* The response in arena memory (valid until the host has copied the reply). */
static i32 respond(i64 status, const u8 *body, u32 body_len, const u8 **reply, u32 *reply_len) {
    u32 cap = body_len * 4 + 128;
    u8 *buf = edgeless_mem_alloc(cap);
    if (!buf) return EDGELESS_CALL_ERROR;
    *reply_len = ed_http_response(buf, cap, status, body, body_len, text_plain, 1);
    *reply = buf;
    return *reply_len ? EDGELESS_REPLY : EDGELESS_CALL_ERROR;
}

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }

i32 handle_call(const u8 *n, const u8 *c, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c;
    /* The decoded body is never longer than the JSON it came from. */
    u8 *text = edgeless_mem_alloc(len + 6);
    u32 body_len = 0;
    if (!text || !ed_http_is_request(payload, len) || !ed_http_body(payload, len, text + 6, len, &body_len)) {
        static const char bad[] = "not an HTTP request";
        return respond(400, (const u8 *)bad, sizeof bad - 1, reply, reply_len);
    }
    ed_memcpy(text, "hello ", 6);
    return respond(200, text, 6 + body_len, reply, reply_len);
}

void handle_stop(void) {}
