// The preview element: a picture over a checkerboard, fitted to the widget, with a before/after slider
// (the "before" picture on the left of the split) dragged with the mouse; a batch's images are stepped
// through (preview_steps.js).

import { PREVIEW_KINDS } from "./names.js";
import { loadPreviewImages } from "./preview_images.js";
import { addStepBar } from "./preview_steps.js";
import { ensureStyle } from "./style.js";

const TEMPLATE = `<div class="empty">Run the workflow to preview here</div>
<div class="frame" hidden><div class="checker"></div><img class="after" alt="result"><img class="before" alt="original">
<div class="handle"></div></div><span class="label left" hidden></span><span class="label right" hidden></span>`;

/** The element and the parts that change. */
function buildParts() {
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-preview";
  root.innerHTML = TEMPLATE;
  const [leftLabel, rightLabel] = root.querySelectorAll(".label");
  return {
    root,
    empty: root.querySelector(".empty"),
    frame: root.querySelector(".frame"),
    after: root.querySelector("img.after"),
    before: root.querySelector("img.before"),
    handle: root.querySelector(".handle"),
    leftLabel,
    rightLabel,
  };
}

/** Centre the frame in the element at the picture's aspect ratio (`size`: [width, height] or null). */
function layoutFrame({ root, frame }, size) {
  if (!size) return;
  const box = root.getBoundingClientRect();
  const scale = root.offsetWidth ? box.width / root.offsetWidth : 1; // canvas zoom (CSS transform)
  const width = root.clientWidth || box.width / scale;
  const height = root.clientHeight || box.height / scale;
  const fit = Math.min(width / size[0], height / size[1]);
  const w = size[0] * fit;
  const h = size[1] * fit;
  Object.assign(frame.style, {
    left: `${(width - w) / 2}px`,
    top: `${(height - h) / 2}px`,
    width: `${w}px`,
    height: `${h}px`,
  });
}

/** Move the split to `split` (clamped to 0..1): "before" shows on its left. Returns the clamped split. */
function drawSplit({ root, before, handle }, split) {
  const clamped = Math.min(1, Math.max(0, split));
  const percent = clamped * 100;
  before.style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
  handle.style.left = `${percent}%`;
  root.dataset.split = clamped.toFixed(3);
  return clamped;
}

/** Dragging with the left button inside the element moves the split (never the node) while comparing. */
function listenForDrag({ root, frame }, comparing, setSplit) {
  const splitFromEvent = (event) => {
    const rect = frame.getBoundingClientRect();
    if (rect.width > 0) setSplit((event.clientX - rect.left) / rect.width);
  };
  root.addEventListener("pointerdown", (event) => {
    if (!comparing() || event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation(); // do not drag the node
    root.setPointerCapture?.(event.pointerId);
    splitFromEvent(event);
  });
  root.addEventListener("pointermove", (event) => {
    if (!comparing() || !root.hasPointerCapture?.(event.pointerId)) return;
    event.preventDefault();
    event.stopPropagation();
    splitFromEvent(event);
  });
  const release = (event) => root.releasePointerCapture?.(event.pointerId);
  root.addEventListener("pointerup", release);
  root.addEventListener("pointercancel", release);
}

/** Put the loaded pictures and their labels in the element. */
function showPictures(parts, payload, { afterUrl, beforeUrl }) {
  const compare = beforeUrl != null;
  const cutout = payload.kind === PREVIEW_KINDS.CUTOUT;
  parts.after.src = afterUrl;
  parts.before.hidden = !compare;
  parts.handle.hidden = !compare;
  if (compare) parts.before.src = beforeUrl;
  parts.empty.hidden = true;
  parts.frame.hidden = false;
  parts.leftLabel.hidden = parts.rightLabel.hidden = !compare;
  parts.leftLabel.textContent = cutout ? "original" : "image";
  parts.rightLabel.textContent = cutout ? "cut-out" : "mask";
  parts.root.style.cursor = compare ? "ew-resize" : "default";
  parts.root.dataset.kind = payload.kind;
  parts.root.dataset.ready = "true";
}

/** The payload's images: its `frames` (nodes/previews.py), or the payload itself (one image). Each is a
 * whole payload (kind, batch and that image's files). */
function framesOf(payload) {
  return (payload.frames ?? [payload]).map((frame) => ({ ...payload, ...frame, frames: undefined }));
}

/** Build the preview element and its controller: `{root, show(payload), step(delta), shown(), setSplit(split),
 * layout()}`; `shown()` is `{index, count, frame}` of the image on screen (null before the first show). The
 * element also fires "birefnet-preview-frame" (same detail) when another image is shown. */
export function createPreviewElement() {
  const parts = buildParts();
  const state = { split: 0.5, size: null, compare: false, objectUrl: null, frames: [], index: 0, token: 0 };
  const layout = () => layoutFrame(parts, state.size);
  const setSplit = (split) => (state.split = drawSplit(parts, split));
  const shown = () =>
    state.frames.length ? { index: state.index, count: state.frames.length, frame: state.frames[state.index] } : null;
  listenForDrag(parts, () => state.compare, setSplit);
  new ResizeObserver(layout).observe(parts.root);

  async function showFrame(index) {
    const token = ++state.token; // a later step or show wins over a slower load
    const frame = state.frames[index];
    const pictures = await loadPreviewImages(frame);
    if (token !== state.token) {
      if (pictures.objectUrl) URL.revokeObjectURL(pictures.objectUrl);
      return;
    }
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    state.objectUrl = pictures.objectUrl;
    state.index = index;
    state.size = pictures.size;
    state.compare = pictures.beforeUrl != null;
    showPictures(parts, frame, pictures);
    updateSteps(index, state.frames.length, frame.batch ?? state.frames.length);
    parts.root.dataset.index = String(index);
    setSplit(state.split);
    layout();
    parts.root.dispatchEvent(new CustomEvent("birefnet-preview-frame", { detail: shown() }));
  }

  const step = (delta) => {
    const count = state.frames.length;
    if (count > 1) return showFrame((((state.index + delta) % count) + count) % count);
  };
  const updateSteps = addStepBar(parts.root, step);

  async function show(payload) {
    state.frames = framesOf(payload);
    await showFrame(0);
  }

  return { root: parts.root, show, step, shown, setSplit, layout };
}
