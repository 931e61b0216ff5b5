/* soak_front: behind the http-ingress of the soak benchmark. A request whose body is "trap"
 * traps the instance (the node answers 502 and restarts it); any other body is cast to "out"
 * and answered 200 "ok". */
#include "edgeless.h"

static const char *const text_plain[] = { "content-type", "text/plain" };

void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }

i32 handle_call(const u8 *n, const u8 *c, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c;
    u8 *body = edgeless_mem_alloc(len + 1);
    u32 body_len = 0;
    if (!body || !ed_http_is_request(payload, len) || !ed_http_body(payload, len, body, len, &body_len)) return EDGELESS_CALL_ERROR;
    if (body_len == 4 && ed_equals(body, 4, "trap")) __builtin_trap();
    ed_cast("out", (const char *)body, body_len);
    u32 cap = 128;
    u8 *out = edgeless_mem_alloc(cap);
    if (!out) return EDGELESS_CALL_ERROR;
    *reply_len = ed_http_response(out, cap, 200, (const u8 *)"ok", 2, text_plain, 1);
    *reply = out;
    return *reply_len ? EDGELESS_REPLY : EDGELESS_CALL_ERROR;
}

void handle_stop(void) {}
