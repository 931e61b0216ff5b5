/* Answers ingress calls for the HTTP tests; the request's path picks the answer:
 * /garbage → a reply that is not JSON, /silent → no reply, /trap → a trap,
 * /smuggle → a reply whose content-length ends it early, with a forged second response after,
 * /crlf → a header value with CR LF in it, /deep-array and /deep-object → a million nested
 * arrays or 100,000 nested objects, anything else → 200 whose body is the whole request JSON,
 * so a test sees exactly what the ingress sent. */
#include "edgeless.h"
static int contains(const u8 *text, u32 len, const char *needle) {
    u32 n = ed_strlen(needle);
    for (u32 i = 0; i + n <= len; i++) {
        u32 j = 0;
        while (j < n && text[i + j] == (u8)needle[j]) j++;
        if (j == n) return 1;
    }
    return 0;
}
static u32 append(u8 *out, u32 at, const char *text) { u32 n = ed_strlen(text); ed_memcpy(out + at, text, n); return at + n; }
void handle_init(const u8 *p, u32 l, const u8 *s, u32 sl) { (void)p; (void)l; (void)s; (void)sl; }
void handle_cast(const u8 *n, const u8 *c, const u8 *p, u32 l) { (void)n; (void)c; (void)p; (void)l; }
i32 handle_call(const u8 *n, const u8 *c, const u8 *p, u32 l, const u8 **reply, u32 *reply_len) {
    (void)n; (void)c;
    if (contains(p, l, "\"path\":\"/garbage\"")) { *reply = (const u8 *)"not json"; *reply_len = 8; return EDGELESS_REPLY; }
    if (contains(p, l, "\"path\":\"/silent\"")) return EDGELESS_NO_REPLY;
    if (contains(p, l, "\"path\":\"/trap\"")) __builtin_trap();
    if (contains(p, l, "\"path\":\"/smuggle\"")) {
        static const char body[] = "ok" "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";
        static const char *const headers[] = { "Content-Length", "2", "connection", "keep-alive", "Transfer-Encoding", "identity", "x-kept", "1" };
        static u8 out[1024];
        *reply = out; *reply_len = ed_http_response(out, sizeof out, 200, (const u8 *)body, sizeof body - 1, headers, 4);
        return EDGELESS_REPLY;
    }
    if (contains(p, l, "\"path\":\"/crlf\"")) {
        static const char text[] = "{\"status\":200,\"headers\":{\"x-a\":\"1\\r\\nset-cookie: forged=1\"},\"body\":null}";
        *reply = (const u8 *)text; *reply_len = sizeof text - 1;
        return EDGELESS_REPLY;
    }
    if (contains(p, l, "\"path\":\"/deep-array\"") || contains(p, l, "\"path\":\"/deep-object\"")) {
        int array = contains(p, l, "/deep-array");
        const char *prefix = "{\"status\":200,\"x\":";
        u32 levels = array ? 1000000 : 100000, step = array ? 1 : 5, at = ed_strlen(prefix);
        u8 *out = edgeless_mem_alloc(at + levels * step);
        if (!out) return EDGELESS_CALL_ERROR;
        ed_memcpy(out, prefix, at);
        if (array) for (u32 i = 0; i < levels; i++) out[at++] = '[';
        else for (u32 i = 0; i < levels; i++) { ed_memcpy(out + at, "{\"a\":", step); at += step; }
        *reply = out; *reply_len = at;
        return EDGELESS_REPLY;
    }
    u8 *out = edgeless_mem_alloc(l * 4 + 96);
    if (!out) return EDGELESS_CALL_ERROR;
    u32 at = append(out, 0, "{\"status\":200,\"headers\":{\"x-echo\":\"1\"},\"body\":[");
    for (u32 i = 0; i < l; i++) {
        if (i) out[at++] = ',';
        at += ed_format_int(p[i], (char *)out + at);
    }
    at = append(out, at, "]}");
    *reply = out; *reply_len = at;
    return EDGELESS_REPLY;
}
void handle_stop(void) {}
