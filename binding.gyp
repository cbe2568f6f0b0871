{
  "targets": [
    {
      "target_name": "torch_normal",
      "sources": ["native/torch_normal.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno"],
      "libraries": ["-lm"]
    }
  ]
}
