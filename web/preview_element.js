// The preview element: a picture over a checkerboard, fitted to the widget, with a before/after slider
// (the "before" picture on the left of the split) dragged with the mouse.

import { PREVIEW_KINDS } from "./names.js";
import { loadPreviewImages } from "./preview_images.js";
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
  const batch = payload.batch > 1 ? ` (1 of ${payload.batch})` : "";
  parts.rightLabel.textContent = (cutout ? "cut-out" : "mask") + batch;
  parts.root.style.cursor = compare ? "ew-resize" : "default";
  parts.root.dataset.kind = payload.kind;
  parts.root.dataset.ready = "true";
}

/** Build the preview element and its controller: `{root, show(payload), setSplit(split), layout()}`. */
export function createPreviewElement() {
  const parts = buildParts();
  const state = { split: 0.5, size: null, compare: false, objectUrl: null };
  const layout = () => layoutFrame(parts, state.size);
  const setSplit = (split) => (state.split = drawSplit(parts, split));
  listenForDrag(parts, () => state.compare, setSplit);
  new ResizeObserver(layout).observe(parts.root);

  async function show(payload) {
    const pictures = await loadPreviewImages(payload);
    if (pictures.objectUrl) {
      if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
      state.objectUrl = pictures.objectUrl;
    }
    state.size = pictures.size;
    state.compare = pictures.beforeUrl != null;
    showPictures(parts, payload, pictures);
    setSplit(state.split);
    layout();
  }

  return { root: parts.root, show, setSplit, layout };
}
