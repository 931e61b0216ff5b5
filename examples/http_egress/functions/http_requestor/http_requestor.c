/* http_requestor: every 100 ms, five times, POSTs "tick N" to the URL in its init payload
 * (through "egress", an http-egress resource) and writes "STATUS BODY" of each response, or
 * "error tick N", to "log". */
#include "edgeless.h"

#define TICKS 5

static u8 url[256];
static u32 url_len;
static i64 ticks;

void handle_init(const u8 *payload, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    ed_http_url parts;
    if (len > sizeof url || !ed_http_parse_url(payload, len, &parts)) {
        ed_log(EDGELESS_ERROR, "http_requestor: init payload must be an http:// or https:// URL");
        return;
    }
    ed_memcpy(url, payload, len);
    url_len = len;
    ed_delayed_cast(100, "self", "tick", 4);
}

void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) {
    (void)n; (void)c; (void)p; (void)l;
    if (!url_len || ticks >= TICKS) return; /* no valid URL, or all ticks sent */
    ticks++;
    char body[32];
    ed_out text = ed_out_init(body, sizeof body);
    ed_out_str(&text, "tick ");
    ed_out_int(&text, ticks);
    u32 body_len = ed_out_done(&text);

    ed_http_url parts;
    if (!ed_http_parse_url(url, url_len, &parts)) return; /* checked at init */
    static const char *const headers[] = { "content-type", "text/plain" };
    u32 cap = 512 + url_len * 6 + body_len * 4;
    u8 *request = edgeless_mem_alloc(cap);
    u32 request_len = request ? ed_http_request(request, cap, "Post", parts.protocol, parts.host, parts.host_len,
                                                parts.path, parts.path_len, (const u8 *)body, body_len, headers, 1) : 0;
    u8 *response = 0; u32 response_len = 0;
    i64 status = 0;
    i32 result = request_len ? ed_call("egress", request, request_len, &response, &response_len) : EDGELESS_CALL_ERROR;

    /* "STATUS BODY"; a body is never longer than the response it came from. */
    u8 *got = result == EDGELESS_REPLY ? edgeless_mem_alloc(response_len) : 0;
    u32 got_len = 0;
    u32 cap_line = response_len + 32;
    u8 *line = got ? edgeless_mem_alloc(cap_line) : 0;
    ed_out out = ed_out_init(line, line ? cap_line : 0);
    if (line && ed_json_int(response, response_len, "status", &status) && ed_http_body(response, response_len, got, response_len, &got_len)) {
        ed_out_int(&out, status);
        ed_out_str(&out, " ");
        ed_out_bytes(&out, got, got_len);
        ed_cast("log", line, ed_out_done(&out));
    } else {
        char error[32];
        ed_out e = ed_out_init(error, sizeof error);
        ed_out_str(&e, "error tick ");
        ed_out_int(&e, ticks);
        ed_cast("log", error, ed_out_done(&e));
    }
    if (ticks < TICKS) ed_delayed_cast(100, "self", "tick", 4);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
