/* http_write_number: POSTs each number it receives (the cast payload, as is) to the URL in its
 * init payload through "external_sink", an http-egress resource, and logs the response status. */
#include "edgeless.h"

static u8 url[256];
static u32 url_len;

void handle_init(const u8 *payload, u32 len, const u8 *s, u32 sl) {
    (void)s; (void)sl;
    ed_http_url parts;
    if (len > sizeof url || !ed_http_parse_url(payload, len, &parts)) {
        ed_log(EDGELESS_ERROR, "http_write_number: init payload must be an http:// or https:// URL");
        return;
    }
    ed_memcpy(url, payload, len);
    url_len = len;
}

void handle_cast(const u8 *n, const u8 *c, const u8 *payload, u32 len) {
    (void)n; (void)c;
    ed_http_url parts;
    if (!url_len || !ed_http_parse_url(url, url_len, &parts)) { ed_log(EDGELESS_ERROR, "http_write_number: no URL"); return; }
    static const char *const headers[] = { "content-type", "text/plain" };
    u32 cap = 512 + url_len * 6 + len * 4;
    u8 *request = edgeless_mem_alloc(cap);
    u32 request_len = request ? ed_http_request(request, cap, "Post", parts.protocol, parts.host, parts.host_len,
                                                parts.path, parts.path_len, payload, len, headers, 1) : 0;
    if (!request_len) { ed_log(EDGELESS_ERROR, "http_write_number: request too large"); return; }
    u8 *response = 0; u32 response_len = 0;
    i64 status = 0;
    char message[64];
    ed_out out = ed_out_init(message, sizeof message);
    i32 result = ed_call("external_sink", request, request_len, &response, &response_len);
    if (result == EDGELESS_REPLY && ed_json_int(response, response_len, "status", &status)) {
        ed_out_str(&out, "http_write_number: sink answered ");
        ed_out_int(&out, status);
    } else {
        ed_out_str(&out, result == EDGELESS_REPLY ? "http_write_number: sink sent no status"
                         : result == EDGELESS_NO_REPLY ? "http_write_number: sink did not reply" : "http_write_number: call to sink failed");
    }
    u32 message_len = ed_out_done(&out);
    telemetry_log_asm(status >= 200 && status < 300 ? EDGELESS_INFO : EDGELESS_WARN, "function", 8, message, message_len);
}

i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **r, u32 *rl) { (void)n; (void)c; (void)p; (void)l; (void)r; (void)rl; return EDGELESS_NO_REPLY; }
void handle_stop(void) {}
