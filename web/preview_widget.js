// Previews that show the alpha, drawn in DOM widgets (node.addDOMWidget) so they work in the classic
// canvas and in the Vue node renderer alike (Vue nodes do not call onDrawForeground).
//
// cut-out: the result over a checkerboard, the original on the left of a slider dragged with the mouse.
// mask: the mask tinted over its image (same slider: image on the left), or the mask alone.
// The files come from the node's `birefnet_preview` ui payload (nodes/previews.py), served by /view.

import { api } from "../../scripts/api.js";
import { refreshVueNode, setWidgetHidden } from "./conditional_widgets.js";

const STYLE_ID = "birefnet-exact-style";
const CHECKER = "#9a9a9a";
const TINT = [255, 40, 120]; // mask overlay colour
const TINT_ALPHA = 0.55;

function ensureStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = `
.birefnet-preview { position: relative; width: 100%; height: 100%; min-height: 120px; overflow: hidden;
  user-select: none; touch-action: none; cursor: ew-resize; background: #1b1b1b; border-radius: 4px; }
.birefnet-preview .frame { position: absolute; }
.birefnet-preview .checker { position: absolute; inset: 0; background-color: #fff;
  background-image: conic-gradient(${CHECKER} 25%, transparent 0 50%, ${CHECKER} 0 75%, transparent 0);
  background-size: 16px 16px; }
.birefnet-preview img { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.birefnet-preview .handle { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
  background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
.birefnet-preview .label { position: absolute; top: 4px; font: 11px sans-serif; color: #fff;
  background: rgba(0,0,0,.55); padding: 1px 5px; border-radius: 3px; pointer-events: none; }
.birefnet-preview .label.left { left: 4px; } .birefnet-preview .label.right { right: 4px; }
.birefnet-preview .empty { position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #888; font: 12px sans-serif; }
.birefnet-info { font: 11px/1.35 sans-serif; color: var(--descrip-text, #aaa); padding: 2px 4px;
  white-space: normal; overflow-wrap: anywhere; overflow: hidden; }
.birefnet-info .status { color: var(--input-text, #ddd); }
`;
  document.head.append(style);
}

export function viewUrl(file) {
  const params = new URLSearchParams({
    filename: file.filename,
    subfolder: file.subfolder ?? "",
    type: file.type ?? "temp",
    rand: String(Math.random()),
  });
  return api.apiURL(`/view?${params}`);
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`could not load ${url}`));
    image.src = url;
  });
}

/** The image with the mask tinted over it, as an object URL (mask 1 = foreground is tinted). */
async function tintedOverlay(image, mask) {
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(mask, 0, 0, canvas.width, canvas.height);
  const maskPixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  context.drawImage(image, 0, 0);
  const picture = context.getImageData(0, 0, canvas.width, canvas.height);
  const pixels = picture.data;
  for (let i = 0; i < pixels.length; i += 4) {
    const a = (maskPixels[i] / 255) * TINT_ALPHA;
    pixels[i] += (TINT[0] - pixels[i]) * a;
    pixels[i + 1] += (TINT[1] - pixels[i + 1]) * a;
    pixels[i + 2] += (TINT[2] - pixels[i + 2]) * a;
  }
  context.putImageData(picture, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return URL.createObjectURL(blob);
}

/** Build the preview element and its controller. */
function createPreviewElement() {
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-preview";
  root.innerHTML = `<div class="empty">Run the workflow to preview here</div>
<div class="frame" hidden><div class="checker"></div><img class="after" alt="result"><img class="before" alt="original">
<div class="handle"></div></div><span class="label left" hidden></span><span class="label right" hidden></span>`;
  const frame = root.querySelector(".frame");
  const after = root.querySelector("img.after");
  const before = root.querySelector("img.before");
  const handle = root.querySelector(".handle");
  const [leftLabel, rightLabel] = root.querySelectorAll(".label");
  const state = { split: 0.5, size: null, compare: false, objectUrl: null };

  function layout() {
    if (!state.size) return;
    const box = root.getBoundingClientRect();
    const scale = root.offsetWidth ? box.width / root.offsetWidth : 1; // canvas zoom (CSS transform)
    const width = root.clientWidth || box.width / scale;
    const height = root.clientHeight || box.height / scale;
    const fit = Math.min(width / state.size[0], height / state.size[1]);
    const w = state.size[0] * fit;
    const h = state.size[1] * fit;
    Object.assign(frame.style, {
      left: `${(width - w) / 2}px`,
      top: `${(height - h) / 2}px`,
      width: `${w}px`,
      height: `${h}px`,
    });
  }

  function setSplit(split) {
    state.split = Math.min(1, Math.max(0, split));
    const percent = state.split * 100;
    before.style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
    handle.style.left = `${percent}%`;
    root.dataset.split = state.split.toFixed(3);
  }

  function splitFromEvent(event) {
    const rect = frame.getBoundingClientRect();
    if (rect.width > 0) setSplit((event.clientX - rect.left) / rect.width);
  }

  root.addEventListener("pointerdown", (event) => {
    if (!state.compare || event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation(); // do not drag the node
    root.setPointerCapture?.(event.pointerId);
    splitFromEvent(event);
  });
  root.addEventListener("pointermove", (event) => {
    if (!state.compare || !root.hasPointerCapture?.(event.pointerId)) return;
    event.preventDefault();
    event.stopPropagation();
    splitFromEvent(event);
  });
  const release = (event) => root.releasePointerCapture?.(event.pointerId);
  root.addEventListener("pointerup", release);
  root.addEventListener("pointercancel", release);
  new ResizeObserver(layout).observe(root);

  async function show(payload) {
    const kind = payload.kind;
    let afterUrl;
    let beforeUrl = null;
    let size;
    if (kind === "cutout") {
      afterUrl = viewUrl(payload.after);
      beforeUrl = viewUrl(payload.before);
      const image = await loadImage(afterUrl);
      size = [image.naturalWidth, image.naturalHeight];
    } else {
      const mask = await loadImage(viewUrl(payload.mask));
      size = [mask.naturalWidth, mask.naturalHeight];
      if (payload.image) {
        beforeUrl = viewUrl(payload.image);
        const image = await loadImage(beforeUrl);
        if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
        state.objectUrl = afterUrl = await tintedOverlay(image, mask);
      } else {
        afterUrl = mask.src;
      }
    }
    state.size = size;
    state.compare = beforeUrl != null;
    after.src = afterUrl;
    before.hidden = !state.compare;
    handle.hidden = !state.compare;
    if (state.compare) before.src = beforeUrl;
    root.querySelector(".empty").hidden = true;
    frame.hidden = false;
    leftLabel.hidden = rightLabel.hidden = !state.compare;
    leftLabel.textContent = kind === "cutout" ? "original" : "image";
    const batch = payload.batch > 1 ? ` (1 of ${payload.batch})` : "";
    rightLabel.textContent = (kind === "cutout" ? "cut-out" : "mask") + batch;
    root.style.cursor = state.compare ? "ew-resize" : "default";
    root.dataset.kind = kind;
    root.dataset.ready = "true";
    setSplit(state.split);
    layout();
  }

  return { root, show, setSplit, layout };
}

function domWidgetOptions(minHeight) {
  return {
    serialize: false, // not a value: never in widgets_values or API prompts
    hideOnZoom: false,
    getValue: () => undefined,
    setValue: () => {},
    getMinHeight: () => minHeight,
  };
}

function growForPreview(node) {
  if (!node.setSize || !node.computeSize) return;
  const wanted = node.computeSize();
  node.setSize([Math.max(node.size[0], wanted[0], 320), Math.max(node.size[1], wanted[1] + 60)]);
}

/** The node's preview widget, created on first use. */
export function previewWidget(node) {
  let widget = node.widgets?.find((w) => w.name === "birefnet_preview");
  if (widget) return widget;
  const preview = createPreviewElement();
  widget = node.addDOMWidget("birefnet_preview", "birefnet_preview", preview.root, domWidgetOptions(180));
  widget.serialize = false;
  widget.birefnetPreview = preview;
  refreshVueNode(node);
  growForPreview(node);
  return widget;
}

export async function showPreview(node, payload) {
  const widget = previewWidget(node);
  if (widget.hidden) {
    setWidgetHidden(widget, false);
    refreshVueNode(node);
    growForPreview(node);
  }
  try {
    await widget.birefnetPreview.show(payload);
  } catch (error) {
    console.warn("BiRefNet: preview failed:", error);
  }
  node.setDirtyCanvas?.(true, true);
}

/** Hide the preview widget again (kept, so its element and listeners are reused). */
export function hidePreview(node) {
  const widget = node.widgets?.find((w) => w.name === "birefnet_preview");
  if (!widget) return;
  setWidgetHidden(widget, true);
  refreshVueNode(node);
  node.setSize?.([node.size[0], node.computeSize()[1]]);
  node.setDirtyCanvas?.(true, true);
}

/** A one- or two-line text widget (model description, download progress, what was loaded). */
export function infoWidget(node) {
  let widget = node.widgets?.find((w) => w.name === "birefnet_info");
  if (widget) return widget;
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-info";
  root.innerHTML = `<div class="about"></div><div class="status"></div>`;
  widget = node.addDOMWidget("birefnet_info", "birefnet_info", root, domWidgetOptions(46));
  widget.serialize = false;
  widget.birefnetInfo = {
    setAbout: (text, tooltip) => {
      root.querySelector(".about").textContent = text ?? "";
      root.title = tooltip ?? "";
    },
    setStatus: (text) => (root.querySelector(".status").textContent = text ?? ""),
  };
  return widget;
}
