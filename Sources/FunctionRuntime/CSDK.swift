/// The C header for writing functions against the ABI. `function new` writes it next to the
/// template, `function build` compiles with it; this string is its only copy.
public enum CSDK {
    /// File name the header is written under; sources include it by this name.
    public static let headerName = "edgeless.h"

    /// The header's full text.
    public static let header = #"""
        /* edgeless.h — write a SecureExecutor / EDGELESS function (type RUST_WASM) in C.
         *
         * Implement the four handlers below, include this header once, and build with
         *   secure-executor function build DIR
         * (clang --target=wasm32 -nostdlib, exports and imports checked against the ABI).
         *
         * Memory: edgeless_mem_alloc is a bump allocator over the module's linear memory, reset by
         * edgeless_mem_clear before every cast and call. Buffers the host hands you (payloads, state)
         * are valid only during the handler; copy what you keep into static storage. */
        #ifndef EDGELESS_H
        #define EDGELESS_H

        typedef unsigned char u8;
        typedef unsigned int u32;
        typedef int i32;
        typedef unsigned long long u64;
        typedef long long i64;

        #define EDGELESS_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
        #define EDGELESS_EXPORT(name) __attribute__((export_name(#name)))

        /* ---- host imports (module "env") ---- */
        EDGELESS_IMPORT(cast_raw_asm) void cast_raw_asm(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len);
        EDGELESS_IMPORT(cast_asm) void cast_asm(const char *target, u32 target_len, const u8 *payload, u32 len);
        EDGELESS_IMPORT(call_raw_asm) i32 call_raw_asm(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len, u8 **out_ptr, u32 *out_len);
        EDGELESS_IMPORT(call_asm) i32 call_asm(const char *target, u32 target_len, const u8 *payload, u32 len, u8 **out_ptr, u32 *out_len);
        EDGELESS_IMPORT(telemetry_log_asm) void telemetry_log_asm(i32 level, const char *target, u32 target_len, const char *msg, u32 msg_len);
        EDGELESS_IMPORT(slf_asm) void slf_asm(u8 *out_node_id, u8 *out_component_id);
        EDGELESS_IMPORT(delayed_cast_asm) void delayed_cast_asm(i64 delay_ms, const char *target, u32 target_len, const u8 *payload, u32 len);
        EDGELESS_IMPORT(sync_asm) void sync_asm(const u8 *state, u32 len);

        enum { EDGELESS_ERROR = 1, EDGELESS_WARN = 2, EDGELESS_INFO = 3, EDGELESS_DEBUG = 4, EDGELESS_TRACE = 5 };
        enum { EDGELESS_NO_REPLY = 0, EDGELESS_REPLY = 1, EDGELESS_CALL_ERROR = 2 };

        /* ---- your handlers ---- */
        void handle_init(const u8 *payload, u32 len, const u8 *state, u32 state_len);
        void handle_cast(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len);
        /* Set *reply / *reply_len (memory from edgeless_mem_alloc or static) and return EDGELESS_REPLY,
         * or return EDGELESS_NO_REPLY / EDGELESS_CALL_ERROR. */
        i32 handle_call(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len);
        void handle_stop(void);

        /* ---- small helpers (no libc here) ---- */
        static inline u32 ed_strlen(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
        static inline void ed_memcpy(void *dst, const void *src, u32 n) { u8 *d = dst; const u8 *s = src; while (n--) *d++ = *s++; }
        static inline int ed_equals(const u8 *a, u32 alen, const char *b) { u32 n = ed_strlen(b); if (n != alen) return 0; for (u32 i = 0; i < n; i++) if (a[i] != (u8)b[i]) return 0; return 1; }
        static inline void ed_log(i32 level, const char *msg) { telemetry_log_asm(level, "function", 8, msg, ed_strlen(msg)); }
        /* A log entry with a target of your own: EDGELESS's functions log "tbegin" and "tend" with a
         * transaction number (level 5) for its benchmarks to time workflows. */
        static inline void ed_log_to(i32 level, const char *target, const void *msg, u32 len) { telemetry_log_asm(level, target, ed_strlen(target), msg, len); }
        static inline void ed_cast(const char *alias, const void *payload, u32 len) { cast_asm(alias, ed_strlen(alias), payload, len); }
        static inline void ed_cast_str(const char *alias, const char *text) { ed_cast(alias, text, ed_strlen(text)); }
        static inline i32 ed_call(const char *alias, const void *payload, u32 len, u8 **reply, u32 *reply_len) { return call_asm(alias, ed_strlen(alias), payload, len, reply, reply_len); }
        static inline void ed_delayed_cast(i64 delay_ms, const char *alias, const void *payload, u32 len) { delayed_cast_asm(delay_ms, alias, ed_strlen(alias), payload, len); }
        /* Parses a decimal integer (optional '-'); returns 0 and sets *ok = 0 if there is none. */
        static inline i64 ed_parse_int(const u8 *s, u32 len, int *ok) { i64 v = 0; u32 i = 0; int neg = 0; *ok = 0; if (i < len && s[i] == '-') { neg = 1; i++; } for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) { v = v * 10 + (s[i] - '0'); *ok = 1; } if (i != len) *ok = 0; return neg ? -v : v; }
        /* Writes v in decimal into buf (at least 21 bytes); returns the length. */
        static inline u32 ed_format_int(i64 v, char *buf) { char tmp[21]; u32 n = 0, len = 0; u64 u = v < 0 ? (u64)(-(v + 1)) + 1 : (u64)v; do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u); if (v < 0) buf[len++] = '-'; while (n) buf[len++] = tmp[--n]; return len; }

        /* Finds "name=value" in an init payload of fields separated by ',' or ' ' ("jobs=10 inflight=4",
         * EDGELESS's "seed=42,is_first=true"); returns the value (not terminated, possibly empty) and sets
         * *value_len, or returns 0 when the field is missing. */
        static inline const u8 *ed_param(const u8 *p, u32 len, const char *name, u32 *value_len) {
            u32 n = ed_strlen(name);
            for (u32 i = 0; i + n < len; i++) {
                if ((i == 0 || p[i - 1] == ',' || p[i - 1] == ' ') && p[i + n] == '=' && ed_equals(p + i, n, name)) {
                    u32 start = i + n + 1, end = start;
                    while (end < len && p[end] != ',' && p[end] != ' ') end++;
                    *value_len = end - start;
                    return p + start;
                }
            }
            *value_len = 0;
            return 0;
        }
        /* The field as a decimal integer; fallback when it is missing or not one. */
        static inline i64 ed_param_int(const u8 *p, u32 len, const char *name, i64 fallback) {
            u32 vlen = 0;
            const u8 *v = ed_param(p, len, name, &vlen);
            int ok = 0;
            i64 value = v ? ed_parse_int(v, vlen, &ok) : 0;
            return ok ? value : fallback;
        }
        /* As EDGELESS's arg_to_bool: 1 only for "true" in any letter case. */
        static inline int ed_param_bool(const u8 *p, u32 len, const char *name) {
            u32 vlen = 0;
            const u8 *v = ed_param(p, len, name, &vlen);
            if (!v || vlen != 4) return 0;
            for (u32 i = 0; i < 4; i++) if ((v[i] | 0x20) != (u8)"true"[i]) return 0;
            return 1;
        }

        /* As EDGELESS's arg_to_vec with ':': the field's colon-separated numbers ("outputs=0:1:2") into
         * out, skipping what is not a number; returns how many (at most cap). */
        static inline u32 ed_param_uints(const u8 *p, u32 len, const char *name, u32 *out, u32 cap) {
            u32 vlen = 0, n = 0;
            const u8 *v = ed_param(p, len, name, &vlen);
            for (u32 start = 0; v && start <= vlen && n < cap;) {
                u32 end = start;
                while (end < vlen && v[end] != ':') end++;
                int ok = 0;
                i64 x = ed_parse_int(v + start, end - start, &ok);
                if (ok && x >= 0 && x <= 0xffffffffll) out[n++] = (u32)x;
                start = end + 1;
            }
            return n;
        }

        /* EDGELESS's pseudo-random generator (edgeless_function::lcg, glib's constants): the same seed
         * gives the same f32 sequence in [0, 1] as EDGELESS's functions draw. */
        typedef struct { u32 seed; } ed_lcg;
        static inline float ed_lcg_rand(ed_lcg *g) { g->seed = (1103515245u * g->seed + 12345u) % 2147483648u; return (float)g->seed / 2147483648.0f; }

        /* Base64, standard alphabet with padding, as EDGELESS's benchmark functions exchange.
         * ed_base64_encode writes 4 * ((n + 2) / 3) bytes and returns that length. ed_base64_decode
         * returns the decoded length (at most 3 * (len / 4)), or -1 unless the input is canonical
         * padded base64, which is all EDGELESS's decoder accepts; out may be in. */
        static inline u32 ed_base64_encode(const u8 *in, u32 n, u8 *out) {
            static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            u32 o = 0;
            for (u32 i = 0; i < n; i += 3) {
                u32 rest = n - i, v = (u32)in[i] << 16 | (rest > 1 ? (u32)in[i + 1] << 8 : 0) | (rest > 2 ? in[i + 2] : 0);
                out[o++] = (u8)alphabet[v >> 18 & 63];
                out[o++] = (u8)alphabet[v >> 12 & 63];
                out[o++] = rest > 1 ? (u8)alphabet[v >> 6 & 63] : '=';
                out[o++] = rest > 2 ? (u8)alphabet[v & 63] : '=';
            }
            return o;
        }
        static inline i32 ed_base64_value(u8 c) {
            return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
        }
        static inline i32 ed_base64_decode(const u8 *in, u32 len, u8 *out) {
            if (len % 4) return -1;
            u32 o = 0;
            for (u32 i = 0; i < len; i += 4) {
                u32 pad = in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;
                if (pad && i + 4 != len) return -1;
                i32 a = ed_base64_value(in[i]), b = ed_base64_value(in[i + 1]);
                i32 c = pad == 2 ? 0 : ed_base64_value(in[i + 2]), d = pad ? 0 : ed_base64_value(in[i + 3]);
                if (a < 0 || b < 0 || c < 0 || d < 0) return -1;
                /* Bits the padding drops must be zero, or the encoding is not canonical. */
                if ((pad == 2 && (b & 15)) || (pad == 1 && (c & 3))) return -1;
                u32 v = (u32)a << 18 | (u32)b << 12 | (u32)c << 6 | (u32)d;
                out[o++] = (u8)(v >> 16);
                if (pad < 2) out[o++] = (u8)(v >> 8);
                if (pad < 1) out[o++] = (u8)v;
            }
            return (i32)o;
        }

        /* ---- writing into a caller's buffer, bounds-checked ----
         * Appends never write past cap; after any overflow the writer stays failed and ed_out_done
         * returns 0, so one check at the end covers every append. */
        typedef struct { u8 *buf; u32 cap, len; int overflow; } ed_out;
        static inline ed_out ed_out_init(void *buf, u32 cap) { ed_out o; o.buf = buf; o.cap = cap; o.len = 0; o.overflow = 0; return o; }
        static inline void ed_out_bytes(ed_out *o, const void *p, u32 n) {
            if (o->overflow || n > o->cap - o->len) { o->overflow = 1; return; }
            ed_memcpy(o->buf + o->len, p, n); o->len += n;
        }
        static inline void ed_out_str(ed_out *o, const char *s) { ed_out_bytes(o, s, ed_strlen(s)); }
        static inline void ed_out_int(ed_out *o, i64 v) { char t[21]; ed_out_bytes(o, t, ed_format_int(v, t)); }
        /* A JSON string literal: quotes added; '"', '\\' and control bytes escaped; other bytes as is. */
        static inline void ed_out_json_string(ed_out *o, const u8 *s, u32 n) {
            static const char hex[] = "0123456789abcdef";
            ed_out_bytes(o, "\"", 1);
            for (u32 i = 0; i < n; i++) {
                u8 c = s[i];
                if (c == '"' || c == '\\') { u8 e[2] = { '\\', c }; ed_out_bytes(o, e, 2); }
                else if (c < 0x20) { u8 e[6] = { '\\', 'u', '0', '0', (u8)hex[c >> 4], (u8)hex[c & 15] }; ed_out_bytes(o, e, 6); }
                else ed_out_bytes(o, &c, 1);
            }
            ed_out_bytes(o, "\"", 1);
        }
        /* Bytes as serde writes a Vec<u8>: [104,105]; a null pointer writes null (an absent body). */
        static inline void ed_out_json_bytes(ed_out *o, const u8 *s, u32 n) {
            if (!s) { ed_out_str(o, "null"); return; }
            ed_out_bytes(o, "[", 1);
            for (u32 i = 0; i < n; i++) { if (i) ed_out_bytes(o, ",", 1); ed_out_int(o, s[i]); }
            ed_out_bytes(o, "]", 1);
        }
        /* Returns the length written, or 0 if anything did not fit. */
        static inline u32 ed_out_done(const ed_out *o) { return o->overflow ? 0 : o->len; }

        /* ---- reading JSON: just enough for flat messages such as EDGELESS HTTP requests ----
         * Only keys of the top-level object match, so a "body" inside "headers" or inside a string
         * value never does. Keys are compared as written (no escapes in the keys we look for). */

        /* i is at an opening quote; returns the index just past the closing quote, or -1. */
        static inline i32 ed_json_skip_string(const u8 *s, u32 len, u32 i) {
            for (i++; i < len; i++) {
                if (s[i] == '\\') i++;
                else if (s[i] == '"') return (i32)(i + 1);
            }
            return -1;
        }
        static inline u32 ed_json_skip_space(const u8 *s, u32 len, u32 i) {
            while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
            return i;
        }
        /* The offset of the value of top-level key `key` (spaces skipped), or -1 if there is none. */
        static inline i32 ed_json_find(const u8 *json, u32 len, const char *key) {
            u32 depth = 0, klen = ed_strlen(key);
            for (u32 i = 0; i < len; i++) {
                u8 c = json[i];
                if (c == '"') {
                    i32 end = ed_json_skip_string(json, len, i);
                    if (end < 0) return -1;
                    u32 after = ed_json_skip_space(json, len, (u32)end);
                    if (depth == 1 && after < len && json[after] == ':' && (u32)end - i - 2 == klen && ed_equals(json + i + 1, klen, key))
                        return (i32)ed_json_skip_space(json, len, after + 1);
                    i = (u32)end - 1;
                } else if (c == '{' || c == '[') depth++;
                else if (c == '}' || c == ']') { if (depth == 0) return -1; depth--; }
            }
            return -1;
        }
        /* The 4 hex digits at json[i..i+3] as a number, or -1. */
        static inline i32 ed_json_hex4(const u8 *json, u32 len, u32 i) {
            i32 v = 0;
            if (i + 4 > len) return -1;
            for (u32 k = i; k < i + 4; k++) {
                u8 h = json[k];
                i32 d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) return -1;
                v = v * 16 + d;
            }
            return v;
        }
        /* Copies the string value of `key` into out (escapes decoded, \uXXXX as UTF-8) and sets *out_len.
         * Returns 1, or 0 when the key is missing, not a string, malformed, or longer than cap.
         * With out == 0 nothing is copied: it only checks and measures. */
        static inline int ed_json_string(const u8 *json, u32 len, const char *key, u8 *out, u32 cap, u32 *out_len) {
            i32 at = ed_json_find(json, len, key);
            *out_len = 0;
            if (at < 0 || (u32)at >= len || json[at] != '"') return 0;
            u32 n = 0;
            for (u32 i = (u32)at + 1; i < len; i++) {
                u32 c = json[i];
                if (c == '"') { *out_len = n; return 1; }
                if (c == '\\') {
                    if (++i >= len) return 0;
                    c = json[i];
                    if (c == 'n') c = '\n'; else if (c == 't') c = '\t'; else if (c == 'r') c = '\r';
                    else if (c == 'b') c = '\b'; else if (c == 'f') c = '\f';
                    else if (c == 'u') {
                        i32 cp = ed_json_hex4(json, len, i + 1);
                        if (cp < 0) return 0;
                        i += 4;
                        if (cp >= 0xd800 && cp < 0xdc00 && i + 2 < len && json[i + 1] == '\\' && json[i + 2] == 'u') {
                            i32 low = ed_json_hex4(json, len, i + 3); /* a surrogate pair is one code point */
                            if (low >= 0xdc00 && low < 0xe000) { cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00); i += 6; }
                        }
                        u32 u = (u32)cp, m;
                        u8 utf8[4];
                        if (u < 0x80) { utf8[0] = (u8)u; m = 1; }
                        else if (u < 0x800) { utf8[0] = (u8)(0xc0 | u >> 6); utf8[1] = (u8)(0x80 | (u & 63)); m = 2; }
                        else if (u < 0x10000) { utf8[0] = (u8)(0xe0 | u >> 12); utf8[1] = (u8)(0x80 | (u >> 6 & 63)); utf8[2] = (u8)(0x80 | (u & 63)); m = 3; }
                        else { utf8[0] = (u8)(0xf0 | u >> 18); utf8[1] = (u8)(0x80 | (u >> 12 & 63)); utf8[2] = (u8)(0x80 | (u >> 6 & 63)); utf8[3] = (u8)(0x80 | (u & 63)); m = 4; }
                        if (out && m > cap - n) return 0;
                        if (out) ed_memcpy(out + n, utf8, m);
                        n += m;
                        continue;
                    } /* \" \\ \/ stand for themselves */
                }
                if (out && n >= cap) return 0;
                if (out) out[n] = (u8)c;
                n++;
            }
            return 0;
        }
        /* Reads the integer value of `key` into *out; returns 0 if it is missing or not an integer. */
        static inline int ed_json_int(const u8 *json, u32 len, const char *key, i64 *out) {
            i32 at = ed_json_find(json, len, key);
            if (at < 0) return 0;
            u32 i = (u32)at, digits = 0; int neg = 0; u64 v = 0;
            if (i < len && json[i] == '-') { neg = 1; i++; }
            for (; i < len && json[i] >= '0' && json[i] <= '9'; i++) { if (++digits > 18) return 0; v = v * 10 + (json[i] - '0'); }
            if (!digits) return 0;
            *out = neg ? -(i64)v : (i64)v;
            return 1;
        }

        /* ---- EDGELESS HTTP messages (serde JSON of edgeless_http) ----
         * request:  {"method":"Post","protocol":"HTTP","host":"h:port","path":"/p","body":[..]|null,"headers":{..}}
         *           method: Get Head Post Put Delete Patch; protocol: HTTP HTTPS
         * response: {"status":200,"body":[..]|null,"headers":{..}}
         * http-ingress calls a function with a request and takes the reply as the response; a function
         * calls an http-egress resource with a request and gets the response as the reply. */

        /* Decodes "body" (an array of byte values) into out and sets *out_len. An absent or null body
         * decodes as empty. Returns 0 when it is malformed, a value is not 0..255, or it exceeds cap. */
        static inline int ed_http_body(const u8 *json, u32 len, u8 *out, u32 cap, u32 *out_len) {
            i32 at = ed_json_find(json, len, "body");
            *out_len = 0;
            if (at < 0) return 1;
            u32 i = (u32)at, n = 0;
            if (i + 4 <= len && ed_equals(json + i, 4, "null")) return 1;
            if (i >= len || json[i] != '[') return 0;
            i = ed_json_skip_space(json, len, i + 1);
            if (i < len && json[i] == ']') return 1;
            for (;;) {
                u32 v = 0, digits = 0;
                for (; i < len && json[i] >= '0' && json[i] <= '9'; i++) { v = v * 10 + (json[i] - '0'); if (++digits > 3 || v > 255) return 0; }
                if (!digits || n >= cap) return 0;
                out[n++] = (u8)v;
                i = ed_json_skip_space(json, len, i);
                if (i < len && json[i] == ']') { *out_len = n; return 1; }
                if (i >= len || json[i] != ',') return 0;
                i = ed_json_skip_space(json, len, i + 1);
            }
        }
        /* 1 if the payload looks like a request: a known "method" and string "host" and "path". */
        static inline int ed_http_is_request(const u8 *json, u32 len) {
            u8 m[8]; u32 mlen = 0, n = 0;
            if (!ed_json_string(json, len, "method", m, sizeof m, &mlen)) return 0;
            if (!ed_json_string(json, len, "host", 0, 0, &n) || !ed_json_string(json, len, "path", 0, 0, &n)) return 0;
            return ed_equals(m, mlen, "Get") || ed_equals(m, mlen, "Head") || ed_equals(m, mlen, "Post") ||
                   ed_equals(m, mlen, "Put") || ed_equals(m, mlen, "Delete") || ed_equals(m, mlen, "Patch");
        }
        /* headers: name/value pairs, headers[2k] and headers[2k+1], header_pairs of them (0 for none). */
        static inline void ed_out_http_headers(ed_out *o, const char *const *headers, u32 header_pairs) {
            ed_out_str(o, "\"headers\":{");
            for (u32 k = 0; k < header_pairs; k++) {
                if (k) ed_out_str(o, ",");
                ed_out_json_string(o, (const u8 *)headers[2 * k], ed_strlen(headers[2 * k]));
                ed_out_str(o, ":");
                ed_out_json_string(o, (const u8 *)headers[2 * k + 1], ed_strlen(headers[2 * k + 1]));
            }
            ed_out_str(o, "}");
        }
        /* Writes a response into buf; returns its length, or 0 if it does not fit in cap. A null body
         * pointer writes "body":null. Needs about 4 bytes per body byte plus the headers plus 40. */
        static inline u32 ed_http_response(void *buf, u32 cap, i64 status, const u8 *body, u32 body_len, const char *const *headers, u32 header_pairs) {
            ed_out o = ed_out_init(buf, cap);
            ed_out_str(&o, "{\"status\":"); ed_out_int(&o, status);
            ed_out_str(&o, ",\"body\":"); ed_out_json_bytes(&o, body, body_len);
            ed_out_str(&o, ","); ed_out_http_headers(&o, headers, header_pairs);
            ed_out_str(&o, "}");
            return ed_out_done(&o);
        }
        /* Writes a request into buf; returns its length, or 0 if it does not fit. method is "Post" etc.,
         * protocol "HTTP" or "HTTPS". */
        static inline u32 ed_http_request(void *buf, u32 cap, const char *method, const char *protocol, const u8 *host, u32 host_len,
                                          const u8 *path, u32 path_len, const u8 *body, u32 body_len, const char *const *headers, u32 header_pairs) {
            ed_out o = ed_out_init(buf, cap);
            ed_out_str(&o, "{\"method\":"); ed_out_json_string(&o, (const u8 *)method, ed_strlen(method));
            ed_out_str(&o, ",\"protocol\":"); ed_out_json_string(&o, (const u8 *)protocol, ed_strlen(protocol));
            ed_out_str(&o, ",\"host\":"); ed_out_json_string(&o, host, host_len);
            ed_out_str(&o, ",\"path\":"); ed_out_json_string(&o, path, path_len);
            ed_out_str(&o, ",\"body\":"); ed_out_json_bytes(&o, body, body_len);
            ed_out_str(&o, ","); ed_out_http_headers(&o, headers, header_pairs);
            ed_out_str(&o, "}");
            return ed_out_done(&o);
        }
        /* Splits "http://host[:port]/path" (or https) into the request's parts; the path defaults to
         * "/". Returns 0 for any other scheme or an empty host. The parts point into url. */
        typedef struct { const char *protocol; const u8 *host; u32 host_len; const u8 *path; u32 path_len; } ed_http_url;
        static inline int ed_http_parse_url(const u8 *url, u32 len, ed_http_url *out) {
            u32 i;
            if (len >= 7 && ed_equals(url, 7, "http://")) { out->protocol = "HTTP"; i = 7; }
            else if (len >= 8 && ed_equals(url, 8, "https://")) { out->protocol = "HTTPS"; i = 8; }
            else return 0;
            u32 h = i;
            while (i < len && url[i] != '/') i++;
            if (i == h) return 0;
            out->host = url + h; out->host_len = i - h;
            if (i < len) { out->path = url + i; out->path_len = len - i; } else { out->path = (const u8 *)"/"; out->path_len = 1; }
            return 1;
        }

        /* ---- the arena allocator ---- */
        extern u8 __heap_base;
        /* Everything below the floor is kept across edgeless_mem_clear (ed_alloc_kept). */
        static u32 edgeless_arena_top, edgeless_arena_floor;
        EDGELESS_EXPORT(edgeless_mem_alloc) void *edgeless_mem_alloc(u32 len) {
            if (edgeless_arena_top == 0) edgeless_arena_top = (u32)&__heap_base;
            u32 start = (edgeless_arena_top + 15) & ~15u, end = start + len;
            if (end < start) return 0;
            u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
            if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (unsigned long)-1) return 0;
            edgeless_arena_top = end;
            return (void *)start;
        }
        EDGELESS_EXPORT(edgeless_mem_free) void edgeless_mem_free(void *ptr, u32 len) { (void)ptr; (void)len; }
        EDGELESS_EXPORT(edgeless_mem_clear) void edgeless_mem_clear(void) { edgeless_arena_top = edgeless_arena_floor ? edgeless_arena_floor : (u32)&__heap_base; }
        /* Memory for the rest of the instance's life (not zeroed), sized at run time where a static
         * array would have to be as large as the largest case: a matrix of the init payload's size.
         * Call it from handle_init; 0 when the memory cannot grow that far (limits.memory). */
        static inline void *ed_alloc_kept(u32 len) {
            void *p = edgeless_mem_alloc(len);
            if (p) edgeless_arena_floor = edgeless_arena_top;
            return p;
        }

        /* ---- the exports the host calls ---- */
        EDGELESS_EXPORT(handle_init_asm) void handle_init_asm(const u8 *payload, u32 len, const u8 *state, u32 state_len) { handle_init(payload, len, state, state_len); }
        EDGELESS_EXPORT(handle_cast_asm) void handle_cast_asm(const u8 *node, const u8 *component, const u8 *payload, u32 len) { handle_cast(node, component, payload, len); }
        EDGELESS_EXPORT(handle_call_asm) i32 handle_call_asm(const u8 *node, const u8 *component, const u8 *payload, u32 len, u32 *out_ptr, u32 *out_len) {
            const u8 *reply = 0; u32 reply_len = 0;
            i32 result = handle_call(node, component, payload, len, &reply, &reply_len);
            if (result == EDGELESS_REPLY) { *out_ptr = (u32)reply; *out_len = reply_len; }
            return result;
        }
        EDGELESS_EXPORT(handle_stop_asm) void handle_stop_asm(void) { handle_stop(); }

        #endif
        """#

    /// What `function new NAME` writes as NAME/NAME.c.
    public static func template(name: String) -> String {
        #"""
        /* \#(name): a SecureExecutor function. Build: secure-executor function build \#(name) */
        #include "edgeless.h"

        static i64 events; /* survives restarts: synced as decimal text, handed back as state */

        void handle_init(const u8 *payload, u32 len, const u8 *state, u32 state_len) {
            (void)payload; (void)len;
            int ok = 0;
            i64 saved = ed_parse_int(state, state_len, &ok);
            if (ok) events = saved;
            ed_log(EDGELESS_INFO, "\#(name) started");
        }

        void handle_cast(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len) {
            (void)node_id; (void)component_id;
            char text[21];
            events++;
            sync_asm((const u8 *)text, ed_format_int(events, text));
            ed_cast("output", payload, len); /* forward to whatever "output" is mapped to */
        }

        i32 handle_call(const u8 *node_id, const u8 *component_id, const u8 *payload, u32 len, const u8 **reply, u32 *reply_len) {
            (void)node_id; (void)component_id;
            *reply = payload; /* echo */
            *reply_len = len;
            return EDGELESS_REPLY;
        }

        void handle_stop(void) { ed_log(EDGELESS_INFO, "\#(name) stopping"); }

        """#
    }
}
