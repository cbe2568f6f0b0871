/**
 * HPSv2's checkpoint (open_clip key names) seen in HF CLIPModel's names, without rewriting a byte:
 * names are mapped, and open_clip's fused attention projection (in_proj_weight rows [q; k; v],
 * in_proj_bias likewise) is split by pointing at a third of its bytes, which are contiguous. The
 * projections (text_projection, visual.proj, stored [in, out]) keep their layout: the graphs read
 * them with projectionLayout "in_out".
 */
import { ModelInputError } from "../model-error.js";
import type { Checkpoint, TensorLocation, WeightSource } from "../safetensors.js";

const FIXED: Record<string, string> = {
  "logit_scale": "logit_scale",
  "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
  "text_model.embeddings.position_embedding.weight": "positional_embedding",
  "text_model.final_layer_norm.weight": "ln_final.weight",
  "text_model.final_layer_norm.bias": "ln_final.bias",
  "text_projection.weight": "text_projection",
  "vision_model.embeddings.class_embedding": "visual.class_embedding",
  "vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
  "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
  "vision_model.pre_layrnorm.weight": "visual.ln_pre.weight",
  "vision_model.pre_layrnorm.bias": "visual.ln_pre.bias",
  "vision_model.post_layernorm.weight": "visual.ln_post.weight",
  "vision_model.post_layernorm.bias": "visual.ln_post.bias",
  "visual_projection.weight": "visual.proj",
};

const LAYER_PARTS: Record<string, string> = {
  "layer_norm1": "ln_1",
  "layer_norm2": "ln_2",
  "self_attn.out_proj": "attn.out_proj",
  "mlp.fc1": "mlp.c_fc",
  "mlp.fc2": "mlp.c_proj",
};

const QKV = ["q_proj", "k_proj", "v_proj"];

/** The open_clip name of an HF CLIPModel tensor, and which third of a fused q/k/v tensor it is. */
export function openClipName(hf: string): { name: string; third?: number } | undefined {
  if (hf in FIXED) return { name: FIXED[hf] };
  const m = /^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (!m) return undefined;
  const [, tower, layer, part, param] = m;
  const base = `${tower === "text_model" ? "" : "visual."}transformer.resblocks.${layer}.`;
  const qkv = /^self_attn\.([qkv]_proj)$/.exec(part);
  if (qkv) return { name: `${base}attn.in_proj_${param}`, third: QKV.indexOf(qkv[1]) };
  const mapped = LAYER_PARTS[part];
  return mapped ? { name: `${base}${mapped}.${param}` } : undefined;
}

export class OpenClipWeights implements WeightSource {
  constructor(private readonly checkpoint: Checkpoint) {}

  get(hfName: string, shape?: number[]): TensorLocation {
    const mapped = openClipName(hfName);
    if (!mapped) throw new Error(`no open_clip tensor for '${hfName}'`);
    if (mapped.third === undefined) return this.checkpoint.get(mapped.name, shape);
    const fused = this.checkpoint.get(mapped.name);
    const [rows, ...rest] = fused.shape;
    const sliced = [rows / 3, ...rest];
    if (rows % 3 !== 0 || (shape && (shape.length !== sliced.length || shape.some((d, i) => d !== sliced[i])))) {
      const want = shape ? [shape[0] * 3, ...shape.slice(1)] : ["3 x hidden"];
      throw new ModelInputError(`${fused.file}: tensor '${mapped.name}' has shape [${fused.shape.join(", ")}]; the config implies [${want.join(", ")}]`);
    }
    const length = fused.length / 3;
    return { ...fused, name: `${mapped.name}.${QKV[mapped.third][0]}`, shape: sliced, offset: fused.offset + mapped.third * length, length };
  }
}
