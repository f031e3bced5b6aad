// What each model list entry is, from the pack's route GET /birefnet_exact/models (nodes/routes.py):
// a local file, a variant already on disk, or a variant that downloads (size, licence, gated).

import { api } from "../../scripts/api.js";
import { MODEL_KINDS, MODELS_ROUTE } from "./names.js";

const { FILE, VARIANT_ON_DISK, DOWNLOAD, MISSING } = MODEL_KINDS;
export const MARKS = { [FILE]: "●", [VARIANT_ON_DISK]: "◆", [DOWNLOAD]: "⇣", [MISSING]: "✕" };

let entries = new Map();

export async function refreshModelInfo() {
  try {
    const response = await api.fetchApi(MODELS_ROUTE, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ?? response.statusText);
    entries = new Map(body.models.map((entry) => [entry.name, entry]));
  } catch (error) {
    console.warn(`BiRefNet: no model information from ${MODELS_ROUTE}:`, error);
  }
}

/** True when the entry is a local file or a variant already on disk (false too when not known). */
export function modelOnDisk(name) {
  const kind = entries.get(name)?.kind;
  return kind === FILE || kind === VARIANT_ON_DISK;
}

export function formatBytes(bytes) {
  if (bytes == null) return "?";
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function licenceNote(variant) {
  if (!variant) return "";
  if (variant.gated || variant.non_commercial) {
    const notes = [variant.gated && "gated", variant.non_commercial && "non-commercial"].filter(Boolean);
    return notes.join(", ");
  }
  return variant.license;
}

/** Short label for the combo list: the value, then what it is ("● file", "⇣ downloads 885 MB · MIT"). */
export function modelLabel(name) {
  const entry = entries.get(name);
  if (!entry || name == null) return name ?? "";
  const mark = MARKS[entry.kind] ?? "";
  if (entry.kind === FILE) return `${mark} ${name}  (local file, ${formatBytes(entry.size_bytes)})`;
  if (entry.kind === VARIANT_ON_DISK) return `${mark} ${name}  (on disk, ${formatBytes(entry.size_bytes)})`;
  if (entry.kind === DOWNLOAD) {
    return `${mark} ${name}  (downloads ${formatBytes(entry.size_bytes)}, ${licenceNote(entry.variant)})`;
  }
  return `${mark} ${name}  (missing)`;
}

/** What the variant is, e.g. "swin_v1_t, 1024x1024, general". */
function variantFacts(variant) {
  const size = variant.resolution ? variant.resolution.join("x") : "dynamic size";
  return `${variant.backbone}, ${size}, ${variant.task}`;
}

/** A short text for the info line under the model list (at most about three lines in a 320 px node). */
export function modelDescription(name) {
  const entry = entries.get(name);
  if (!entry) return "";
  const variant = entry.variant;
  const file = entry.file ? entry.file.split(/[\\/]/).pop() : "";
  if (entry.kind === FILE) {
    const what = variant ? `the ${variant.name} release (${variantFacts(variant)})` : "architecture read from the file";
    return `Local file, ${formatBytes(entry.size_bytes)}: ${what}.`;
  }
  if (entry.kind === VARIANT_ON_DISK) return `On disk as ${file} (${variantFacts(variant)}).`;
  if (entry.kind === DOWNLOAD) {
    let text = `Not on disk: downloads ${formatBytes(entry.size_bytes)} from ${variant.repo_id} when allow_download is on. Licence: ${variant.license}.`;
    if (variant.gated) text += " Gated: accept the licence on its page and log in (hf auth login) first.";
    return text;
  }
  return `${name} is no longer in the model folders: refresh (R) or pick another.`;
}

/** The full facts, for the info line's tooltip. */
export function modelDetails(name) {
  const entry = entries.get(name);
  if (!entry) return "";
  const variant = entry.variant;
  const lines = [entry.file ? `File: ${entry.file}` : name];
  if (variant) {
    lines.push(`${variant.name} (${variantFacts(variant)}): ${variant.description}`);
    lines.push(`Licence: ${variant.license}. ${variant.page_url}`);
  }
  return lines.join("\n");
}

/** Annotate a model combo's labels (values stay as they are; front ends without getOptionLabel ignore it). */
export function annotateModelCombo(widget) {
  widget.options ??= {};
  widget.options.getOptionLabel = (value) => modelLabel(value);
}
