{
  # native/torch_normal.c is bit-exact only if the compiler fuses no multiply-add on its own
  # (-ffp-contract=off; the source calls fmaf/_mm256_fmadd_ps exactly where the reference fuses).
  # gyp ignores `cflags` on macOS (flags come from xcode_settings there) and on Windows (from
  # msvs_settings), so each gets the same flags in its own words. No -lm on Windows (no m.lib).
  # native/exit_now.c: the worker's exit while a thread is inside onnxruntime (src/worker/exit-now.ts).
  "targets": [
    {
      "target_name": "torch_normal",
      "sources": ["native/torch_normal.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno"],
      "conditions": [
        ["OS!='win'", { "libraries": ["-lm"] }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CFLAGS": ["-ffp-contract=off", "-fno-math-errno"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": {
            "VCCLCompilerTool": {
              # 1 = /fp:strict: no contraction into FMA under any MSVC version or /arch (/fp:precise
              # only stopped contracting by default in VS 2022). Optimization is node's (/Ox in Release).
              "FloatingPointModel": "1"
            }
          }
        }]
      ]
    },
    {
      "target_name": "exit_now",
      "sources": ["native/exit_now.c"]
    }
  ]
}
