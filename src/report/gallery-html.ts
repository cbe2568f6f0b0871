/**
 * The gallery in the report: one row per (prompt, seed), the base noise's image, then each
 * strategy's best at every budget (a column group per strategy), scores and eval indices under
 * each image, the best of the row marked. Thumbnails are embedded; each links to its full image.
 */
import type { Gallery, GalleryBest, GalleryImage, GalleryRow } from "./gallery.js";
import { f, html, runHref, type RenderOptions } from "./format.js";

function galleryCell(cls: string, attrs: string, what: string, image: string | null, score: number | null, extra: string, opts: RenderOptions): string {
  let picture: string;
  if (image === null) {
    picture = `<div class="noimage">no image</div>`;
  } else {
    const href = html(runHref(opts.runLink, image));
    const thumb = opts.thumbnails?.get(image);
    picture = thumb && "uri" in thumb
      ? `<a href="${href}"><img src="${thumb.uri}" width="${thumb.width}" height="${thumb.height}" alt="${html(what)}"></a>`
      : `<div class="noimage"><a href="${href}">${html(image)}</a>${thumb ? `<br>unreadable: ${html(thumb.error)}` : ""}</div>`;
  }
  return `<td class="${cls}"${attrs}>${picture}<div class="score">score ${f(score)}</div>${extra}</td>`;
}

export function htmlGallery(g: Gallery, opts: RenderOptions, bestNoises: string): string {
  const indexLink = g.index ? ` The files are listed in <a href="${html(runHref(opts.runLink, g.index))}">${html(g.index)}</a>.` : "";
  if (g.rows.length === 0) {
    return `<p id="gallery">This run's evaluator produces scores only, no images. ${html(bestNoises).replace(/`([^`]+)`/, "<code>$1</code>")}${indexLink}</p>`;
  }
  const strategies = [...new Set(g.rows[0].strategies.map((s) => s.strategy))];
  const withBase = g.base_strategy !== null;
  const nb = g.budgets.length;
  const head1 = `<tr><th rowspan="2">prompt</th><th rowspan="2">seed</th>${withBase ? `<th rowspan="2">base noise (${html(g.base_strategy!)} eval 0)</th>` : ""}${strategies.map((s) => `<th colspan="${nb}" class="strategy">${html(s)} best</th>`).join("")}</tr>`;
  const head2 = `<tr>${strategies.map(() => g.budgets.map((b) => `<th class="budget">budget ${b}</th>`).join("")).join("")}</tr>`;
  const base = (r: GalleryRow, b: GalleryImage | null) =>
    galleryCell("base", "", `base noise, prompt ${r.prompt_index}, seed ${r.seed}`, b?.image ?? null, b?.score ?? null, `<div class="eval">eval 0</div>`, opts);
  const best = (r: GalleryRow, s: GalleryBest, top: boolean) =>
    galleryCell(top ? "best top" : "best", ` data-strategy="${html(s.strategy)}" data-budget="${s.budget}"`, `${s.strategy} best at budget ${s.budget}, prompt ${r.prompt_index}, seed ${r.seed}`, s.image, s.score,
      `<div class="eval">eval ${s.eval_index ?? "-"}${s.trial_status === "ok" ? "" : ` (${html(s.trial_status)})`}</div>${top ? `<div class="mark">best of row</div>` : ""}`, opts);
  const rows = g.rows.map((r) => `<tr data-prompt-index="${r.prompt_index}" data-seed="${r.seed}"><td class="prompt">${html(`${r.prompt_index}: ${r.prompt}`)}</td><td class="seed">${r.seed}</td>${withBase ? base(r, r.base) : ""}${r.strategies.map((s, i) => best(r, s, i === r.top)).join("")}</tr>`);
  return `<div id="gallery">
<p>Per prompt and seed: ${withBase ? `the base noise's image (evaluation 0 of the ${html(g.base_strategy!)} search), then ` : ""}each strategy's best image at each budget, with its score and evaluation index; the highest score of the row is framed. Thumbnails; each links to its full-size image.${indexLink}</p>
<div class="scroll"><table class="gallery"><thead>${head1}${head2}</thead>
<tbody>
${rows.join("\n")}
</tbody></table></div>
</div>`;
}

export function markdownBestImages(g: Gallery, runLink: string | undefined): string | null {
  if (!g.index) return null;
  const index = runHref(runLink, g.index);
  return [
    `The best candidate of every trial, its noise (\`.npy\`) and its image (\`.png\`, where the evaluator makes one), is in \`best/\`, one row per trial in [${g.index}](${index}).`,
    g.images > 0
      ? `report.html shows ${g.images} of the images: per prompt and seed, the base noise (evaluation 0 of the ${g.base_strategy ?? "random"} search) beside each strategy's best at budgets ${g.budgets.join(", ")}, with scores.`
      : "This run's evaluator makes no images.",
  ].join("\n\n");
}
