#!/usr/bin/env python3
"""Peer for `secure-executor-bench functions`: the same modules under wasmtime (its Python
package), driven with the same host sequences (DESIGN.md, "Function ABI"). Prints one JSON
object. Usage: wasmtime_peer.py MODULE.wasm STARTS CASTS"""
import json
import sys
import time

import wasmtime


def main():
    path, starts, casts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    engine = wasmtime.Engine()
    t0 = time.perf_counter_ns()
    module = wasmtime.Module.from_file(engine, path)
    compile_ns = time.perf_counter_ns() - t0

    def noop(*_args):
        return None

    def call_noreply(*_args):
        return 0

    signatures = {
        "cast_raw_asm": ([wasmtime.ValType.i32()] * 4, [], noop),
        "cast_asm": ([wasmtime.ValType.i32()] * 4, [], noop),
        "call_raw_asm": ([wasmtime.ValType.i32()] * 6, [wasmtime.ValType.i32()], call_noreply),
        "call_asm": ([wasmtime.ValType.i32()] * 6, [wasmtime.ValType.i32()], call_noreply),
        "telemetry_log_asm": ([wasmtime.ValType.i32()] * 5, [], noop),
        "slf_asm": ([wasmtime.ValType.i32()] * 2, [], noop),
        "delayed_cast_asm": ([wasmtime.ValType.i64()] + [wasmtime.ValType.i32()] * 4, [], noop),
        "sync_asm": ([wasmtime.ValType.i32()] * 2, [], noop),
    }

    def start():
        store = wasmtime.Store(engine)
        imports = []
        for item in module.imports:
            params, results, body = signatures[item.name]
            imports.append(wasmtime.Func(store, wasmtime.FuncType(params, results), body))
        instance = wasmtime.Instance(store, module, imports)
        exports = instance.exports(store)
        exports["handle_init_asm"](store, 0, 0, 0, 0)
        return store, exports

    samples = []
    for _ in range(starts):
        t = time.perf_counter_ns()
        start()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()

    store, exports = start()
    memory = exports["memory"]
    alloc, free, clear, cast = exports["edgeless_mem_alloc"], exports["edgeless_mem_free"], exports["edgeless_mem_clear"], exports["handle_cast_asm"]
    payload = b"x" * 16
    block = bytes(32) + payload
    t = time.perf_counter_ns()
    for _ in range(casts):
        clear(store)
        pointer = alloc(store, len(block))
        memory.write(store, block, pointer)
        cast(store, pointer, pointer + 16, pointer + 32, len(payload))
        free(store, pointer, len(block))
    cast_ns = time.perf_counter_ns() - t

    print(json.dumps({
        "wasmtime": wasmtime.__version__ if hasattr(wasmtime, "__version__") else "?",
        "compile_ns": compile_ns,
        "start_p50_ns": samples[len(samples) // 2],
        "start_p99_ns": samples[min(len(samples) - 1, len(samples) * 99 // 100)],
        "casts_per_second": casts / (cast_ns / 1e9),
    }))


if __name__ == "__main__":
    main()
