/**
 * The five stage graphs of a flux2-pickscore model directory, built from the parsed configs: the
 * import, the synthetic models' weight planning and the graph checks build the same list.
 */
import { buildTextEncoderGraph, type Qwen3Config } from "./flux2/text-encoder-graph.js";
import { buildTransformerGraph, type Flux2TransformerConfig } from "./flux2/transformer-graph.js";
import { buildVaeDecoderGraph, type Flux2VaeConfig } from "./flux2/vae-decoder-graph.js";
import type { GraphName, ModelDimensions } from "./manifest.js";
import type { GraphBuilder } from "./onnx/graph-builder.js";
import { buildClipTextGraph, buildClipVisionGraph, type ClipConfig } from "./pickscore/clip-graphs.js";

/** Hidden states the FLUX.2-klein pipeline stacks (index 0 = the embeddings). */
export const TEXT_HIDDEN_LAYERS = [9, 18, 27];
export const TEXT_MAX_LENGTH = 512;

export interface StageConfigs {
  text: Qwen3Config;
  transformer: Flux2TransformerConfig;
  vae: Flux2VaeConfig;
  clip: ClipConfig;
}

export function stageGraphBuilders(c: StageConfigs): Record<GraphName, (b: GraphBuilder) => void> {
  return {
    text_encoder: (b) => buildTextEncoderGraph(b, c.text, { maxLength: TEXT_MAX_LENGTH, layers: TEXT_HIDDEN_LAYERS }),
    transformer: (b) => buildTransformerGraph(b, c.transformer, { textLength: TEXT_MAX_LENGTH }),
    vae_decoder: (b) => buildVaeDecoderGraph(b, c.vae),
    clip_vision: (b) => buildClipVisionGraph(b, c.clip),
    clip_text: (b) => buildClipTextGraph(b, c.clip),
  };
}

/** What the memory estimate needs of the configs (recorded in the model manifest). */
export function stageDimensions(c: StageConfigs): ModelDimensions {
  const t = c.transformer;
  const dim = t.numAttentionHeads * t.attentionHeadDim;
  return {
    transformer: {
      heads: t.numAttentionHeads,
      head_dim: t.attentionHeadDim,
      mlp_hidden: Math.trunc(dim * t.mlpRatio),
      layers: t.numLayers,
      single_layers: t.numSingleLayers,
      channels: t.inChannels,
      joint_dim: t.jointAttentionDim,
      text_length: TEXT_MAX_LENGTH,
    },
    text_encoder: {
      hidden: c.text.hiddenSize,
      intermediate: c.text.intermediateSize,
      heads: c.text.numHeads,
      head_dim: c.text.headDim,
      layers: Math.max(...TEXT_HIDDEN_LAYERS),
      length: TEXT_MAX_LENGTH,
    },
    vae_decoder: { block_out_channels: [...c.vae.blockOutChannels], layers_per_block: c.vae.layersPerBlock, latent_channels: c.vae.latentChannels },
    clip_vision: {
      hidden: c.clip.vision.hiddenSize,
      intermediate: c.clip.vision.intermediateSize,
      heads: c.clip.vision.numHeads,
      layers: c.clip.vision.numLayers,
      tokens: (c.clip.vision.imageSize / c.clip.vision.patchSize) ** 2 + 1,
    },
    clip_text: {
      hidden: c.clip.text.hiddenSize,
      intermediate: c.clip.text.intermediateSize,
      heads: c.clip.text.numHeads,
      layers: c.clip.text.numLayers,
      tokens: c.clip.text.maxPositions,
    },
  };
}
