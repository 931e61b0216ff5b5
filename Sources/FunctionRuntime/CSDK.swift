/// The C header for writing functions against the ABI. `function new` writes it next to the
/// template, `function build` compiles with it; this string is its only copy.
public enum CSDK {
    public static let headerName = "edgeless.h"

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
static inline void ed_cast(const char *alias, const void *payload, u32 len) { cast_asm(alias, ed_strlen(alias), payload, len); }
static inline void ed_cast_str(const char *alias, const char *text) { ed_cast(alias, text, ed_strlen(text)); }
static inline i32 ed_call(const char *alias, const void *payload, u32 len, u8 **reply, u32 *reply_len) { return call_asm(alias, ed_strlen(alias), payload, len, reply, reply_len); }
static inline void ed_delayed_cast(i64 delay_ms, const char *alias, const void *payload, u32 len) { delayed_cast_asm(delay_ms, alias, ed_strlen(alias), payload, len); }
/* Parses a decimal integer (optional '-'); returns 0 and sets *ok = 0 if there is none. */
static inline i64 ed_parse_int(const u8 *s, u32 len, int *ok) { i64 v = 0; u32 i = 0; int neg = 0; *ok = 0; if (i < len && s[i] == '-') { neg = 1; i++; } for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) { v = v * 10 + (s[i] - '0'); *ok = 1; } if (i != len) *ok = 0; return neg ? -v : v; }
/* Writes v in decimal into buf (at least 21 bytes); returns the length. */
static inline u32 ed_format_int(i64 v, char *buf) { char tmp[21]; u32 n = 0, len = 0; u64 u = v < 0 ? (u64)(-(v + 1)) + 1 : (u64)v; do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u); if (v < 0) buf[len++] = '-'; while (n) buf[len++] = tmp[--n]; return len; }

/* ---- the arena allocator ---- */
extern u8 __heap_base;
static u32 edgeless_arena_top;
EDGELESS_EXPORT(edgeless_mem_alloc) void *edgeless_mem_alloc(u32 len) {
    u32 base = (u32)&__heap_base;
    if (edgeless_arena_top == 0) edgeless_arena_top = base;
    u32 start = (edgeless_arena_top + 15) & ~15u, end = start + len;
    if (end < start) return 0;
    u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (unsigned long)-1) return 0;
    edgeless_arena_top = end;
    return (void *)start;
}
EDGELESS_EXPORT(edgeless_mem_free) void edgeless_mem_free(void *ptr, u32 len) { (void)ptr; (void)len; }
EDGELESS_EXPORT(edgeless_mem_clear) void edgeless_mem_clear(void) { edgeless_arena_top = (u32)&__heap_base; }

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
