/**
 * FLUX.2's flow-matching schedule (DiffSynth-Studio FlowMatchScheduler, template "FLUX.2") and its
 * Euler step, in the float32 arithmetic torch uses: sigmas are a float32 tensor, the shift's
 * exp(mu) a float64 scalar applied in float32, `scalar / tensor` is reciprocal(tensor) * scalar
 * (Tensor.__rtruediv__), and the model sees (sigma * 1000) / 1000.
 */
const f = Math.fround;

/** The empirical shift mu of FLUX.2 for an image of `seqLen` latent tokens and `steps` steps (float64). */
export function empiricalMu(seqLen: number, steps: number): number {
  const a1 = 8.73809524e-5;
  const b1 = 1.89833333;
  const a2 = 0.00016927;
  const b2 = 0.45666666;
  if (seqLen > 4300) return a2 * seqLen + b2;
  const m200 = a2 * seqLen + b2;
  const m10 = a1 * seqLen + b1;
  const a = (m200 - m10) / 190.0;
  const b = m200 - 200.0 * a;
  return a * steps + b;
}

/** torch.linspace(start, end, n) in float32 (both halves, as torch fills them). */
function linspace32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = f((end - start) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f(start + f(step * i)) : f(end - f(step * (n - i - 1)));
  return out;
}

export interface Flux2Schedule {
  /** n + 1 float32 sigmas, the last 0 */
  sigmas: Float32Array;
  /** what the transformer receives per step: fl(fl(sigma * 1000) / 1000) */
  timesteps: Float32Array;
}

export function flux2Schedule(steps: number, seqLen: number): Flux2Schedule {
  const base = linspace32(1.0, f(1 / steps), steps);
  const e = f(Math.exp(empiricalMu(seqLen, steps)));
  const sigmas = new Float32Array(steps + 1);
  const timesteps = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    sigmas[i] = f(f(1 / f(e + f(f(1 / base[i]) - 1))) * e);
    timesteps[i] = f(f(sigmas[i] * 1000) / 1000);
  }
  return { sigmas, timesteps };
}

/** latents += v * (sigma_{i+1} - sigma_i), elementwise in float32 (in place). */
export function eulerStep(latents: Float32Array, velocity: Float32Array, schedule: Flux2Schedule, i: number): void {
  const dt = f(schedule.sigmas[i + 1] - schedule.sigmas[i]);
  for (let k = 0; k < latents.length; k++) latents[k] = f(latents[k] + f(velocity[k] * dt));
}
