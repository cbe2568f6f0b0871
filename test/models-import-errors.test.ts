/**
 * Bad model input is refused with one line naming the file, tensor or field and what was expected,
 * exit code 2, and nothing half-written: an import that fails leaves no folder behind.
 */
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { runCli, tempDir } from "./cli.js";
import { flux2Dir, readAllTensors, writeSafetensors } from "./flux2-reference.js";
import { repoRoot } from "./reference.js";
import { startWorkerProcess } from "./workers.js";

const root = tempDir("sweep-flux2-bad-");
let n = 0;

/** A fresh copy of the golden source folders, changed by `mutate`. */
function sources(mutate: (src: { flux2: string; pickscore: string; processor: string }) => void) {
  const base = path.join(root, `src${n++}`);
  for (const d of ["FLUX.2-klein-tiny", "PickScore-tiny", "CLIP-processor-tiny"]) cpSync(path.join(flux2Dir, d), path.join(base, d), { recursive: true });
  const src = { flux2: path.join(base, "FLUX.2-klein-tiny"), pickscore: path.join(base, "PickScore-tiny"), processor: path.join(base, "CLIP-processor-tiny") };
  mutate(src);
  return src;
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

function rewriteTensors(file: string, edit: (tensors: ReturnType<typeof readAllTensors>) => ReturnType<typeof readAllTensors>): void {
  writeSafetensors(file, edit(readAllTensors(file)));
}

async function importFails(src: { flux2: string; pickscore: string; processor: string }, expected: RegExp): Promise<void> {
  const out = path.join(root, `out${n++}`, "model");
  const r = await runCli(["models", "import", "--flux2", src.flux2, "--pickscore", src.pickscore, "--processor", src.processor, "--out", out]);
  expect(r.stderr).toMatch(expected);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.code).toBe(2);
  expect(existsSync(out)).toBe(false);
  expect(existsSync(path.dirname(out)) ? readdirSync(path.dirname(out)) : []).toEqual([]);
}

// Each case imports its own copy into its own folder, timing nothing: they run a few at once.
describe.concurrent("sweep models import refuses", () => {
  test("a missing file", async () => {
    await importFails(sources((s) => rmSync(path.join(s.flux2, "vae", "config.json"))), /vae\/config\.json: file not found/);
  });

  test("an unknown architecture", async () => {
    await importFails(sources((s) => editJson(path.join(s.flux2, "text_encoder", "config.json"), (j) => {
      j.architectures = ["LlamaForCausalLM"];
      j.model_type = "llama";
    })), /text_encoder\/config\.json: .*architectures.*Qwen3ForCausalLM/);
  });

  test("dimensions that disagree with the weights: joint_attention_dim against 3 x the text encoder's hidden size", async () => {
    await importFails(sources((s) => editJson(path.join(s.flux2, "transformer", "config.json"), (j) => {
      j.joint_attention_dim = 64;
    })), /transformer\/config\.json: joint_attention_dim is 64, but the text encoder .* gives 3 x hidden_size 32 = 96/);
  });

  test("a config whose sizes disagree with a tensor's shape", async () => {
    await importFails(sources((s) => editJson(path.join(s.pickscore, "config.json"), (j) => {
      j.projection_dim = 24;
    })), /PickScore-tiny\/model\.safetensors: tensor '(text|visual)_projection\.weight' has shape \[16, 32\]; the config implies \[24, 32\]/);
  });

  test("a wrong dtype", async () => {
    await importFails(sources((s) => rewriteTensors(path.join(s.flux2, "transformer", "diffusion_pytorch_model.safetensors"), (ts) => ts.map((t) =>
      t.name === "proj_out.weight" ? { ...t, dtype: "I32" as "F32" } : t))), /tensor 'proj_out\.weight' is I32; expected F32, F16 or BF16/);
  });

  test("a tensor missing from the safetensors", async () => {
    await importFails(sources((s) => rewriteTensors(path.join(s.flux2, "transformer", "diffusion_pytorch_model.safetensors"), (ts) => ts.filter((t) => t.name !== "x_embedder.weight"))),
      /transformer: tensor 'x_embedder\.weight' is missing from the checkpoint/);
  });

  test("a truncated safetensors file", async () => {
    await importFails(sources((s) => {
      const f = path.join(s.flux2, "vae", "diffusion_pytorch_model.safetensors");
      truncateSync(f, 500_000);
    }), /vae\/diffusion_pytorch_model\.safetensors: truncated: tensor '.*' ends at byte \d+ but the file has 500000/);
  });

  test("a pytorch_model.bin-only checkpoint, with the one-line conversion", async () => {
    await importFails(sources((s) => renameSync(path.join(s.pickscore, "model.safetensors"), path.join(s.pickscore, "pytorch_model.bin"))),
      /pytorch_model\.bin: PyTorch pickle checkpoints are not read .* python -c "import torch, safetensors\.torch as s; s\.save_file/);
  });

  test("an output folder that exists", async () => {
    const out = tempDir();
    const s = sources(() => {});
    const r = await runCli(["models", "import", "--flux2", s.flux2, "--pickscore", s.pickscore, "--processor", s.processor, "--out", out]);
    expect(r.stderr).toMatch(/--out .*: already exists/);
    expect(r.code).toBe(2);
  });
});

describe("a model directory changed since import", () => {
  const models = path.join(root, "models");
  beforeAll(async () => {
    const s = sources(() => {});
    const r = await runCli(["models", "import", "--flux2", s.flux2, "--pickscore", s.pickscore, "--processor", s.processor, "--out", path.join(models, "golden")]);
    expect(r.code, r.stderr).toBe(0);
  });

  test("a flipped byte: --verify refuses the model at worker start, naming the file", async () => {
    const file = path.join(models, "golden", "weights", "vae", "diffusion_pytorch_model.safetensors");
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    const r = await runCli(["worker", "--listen", "127.0.0.1:0", "--model-root", models, "--preload", "golden", "--verify"]);
    expect(r.stderr).toMatch(/weights\/vae\/diffusion_pytorch_model\.safetensors: sha256 [0-9a-f]{12}\.\.\., the manifest says [0-9a-f]{12}\.\.\.: the file changed since import/);
    expect(r.code).toBe(2);
  });

  test("a file of another size: refused at load even without --verify", async () => {
    writeFileSync(path.join(models, "golden", "clip_processor", "tokenizer_config.json"), "{}");
    const r = await runCli(["worker", "--listen", "127.0.0.1:0", "--model-root", models, "--preload", "golden"]);
    expect(r.stderr).toMatch(/clip_processor\/tokenizer_config\.json: 2 bytes, the manifest says \d+ bytes: the file changed since import/);
    expect(r.code).toBe(2);
  });

  test("a missing model: the worker says where it looked and how to make it", async () => {
    const r = await runCli(["worker", "--listen", "127.0.0.1:0", "--model-root", models, "--preload", "nothere"]);
    expect(r.stderr).toMatch(/model 'nothere' not found under the model root .*; make it with 'sweep models import --flux2 DIR --pickscore DIR --processor DIR --out .*nothere'/);
    expect(r.code).toBe(2);
  });

  test("a remote worker without the model stops the run at its first answer, naming the worker (exit 2)", async () => {
    const w = await startWorkerProcess(["--listen", "127.0.0.1:0", "--model-root", root]);
    try {
      const dir = tempDir();
      writeFileSync(path.join(dir, "s.yaml"), "prompts: [a]\nseeds: [0, 1]\nbudgets: [3]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: golden, height: 128, width: 128}\n");
      const r = await runCli(["run", path.join(dir, "s.yaml"), "--workers", w.address, "--run-dir", path.join(dir, "run")]);
      expect(r.stderr).toContain(`sweep: worker ${w.address}: model 'golden' not found under the model root ${realpathSync(root)}; make it with 'sweep models import`);
      expect(r.code).toBe(2);
      expect(readFileSync(path.join(dir, "run", "evaluations.csv"), "utf8").trim().split("\n")).toHaveLength(1);
      expect(JSON.parse(readFileSync(path.join(dir, "run", "manifest.json"), "utf8"))).toMatchObject({ status: "failed", error: expect.stringContaining("not found under the model root") });
    } finally {
      await w.stop();
    }
  });
});

describe("sweep config", () => {
  const plan = async (evaluator: string) => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "s.yaml"), `prompts: [a]\nseeds: [0]\nbudgets: [1]\nstrategies: [{name: random}]\nevaluator: ${evaluator}\n`);
    return runCli(["plan", path.join(dir, "s.yaml")]);
  };

  test("height or width not a multiple of 16", async () => {
    const r = await plan("{kind: flux2-pickscore, model: m, height: 1000}");
    expect(r.stderr).toMatch(/s\.yaml:5:\d+: evaluator\.height: height 1000 is not a multiple of 16/);
    expect(r.code).toBe(2);
  });

  test("an unknown score convention", async () => {
    const r = await plan("{kind: flux2-pickscore, model: m, score: elo}");
    expect(r.stderr).toMatch(/evaluator\.score: .*"cosine".*"logit"/);
    expect(r.code).toBe(2);
  });

  test("a shape that disagrees with height and width", async () => {
    const r = await plan("{kind: flux2-pickscore, model: m, height: 512, width: 256, shape: [1, 128, 16, 32]}");
    expect(r.stderr).toMatch(/evaluator\.shape: shape \[1, 128, 16, 32\] disagrees with height 512 and width 256, which give \[1, 128, 32, 16\]/);
    expect(r.code).toBe(2);
  });
});

const cudaProvider = path.join(repoRoot, "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so");

describe("GPU workers", () => {
  // Where the provider is installed the worker would start: this checks the refusal where it is not.
  test.skipIf(existsSync(cudaProvider))("without the CUDA provider libraries, the worker refuses to start and says how to install them", async () => {
    const r = await runCli(["worker", "--listen", "127.0.0.1:0", "--devices", "0", "--model-root", root]);
    expect(r.stderr).toMatch(/GPU 0: the CUDA execution provider cannot start .*--onnxruntime-node-install=cuda12/);
    expect(r.code).toBe(2);
  });
});
