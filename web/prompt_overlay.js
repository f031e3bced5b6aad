// The drawing pad of Segment / Remove background: the image the node cuts from, fitted into a canvas,
// with the prompt drawn over it (boxes, positive and negative points). Drawing only; the gestures that
// edit the prompt are in prompt_input.js.

import { loadImage } from "./preview_images.js";
import { fitImage, imageToPad } from "./prompt_geometry.js";
import { ensureStyle } from "./style.js";

export const BOX_COLOR = "#00e5ff";
export const POSITIVE_COLOR = "#1eff5a";
export const NEGATIVE_COLOR = "#ff2a3c";
const OUTSIDE_SHADE = "rgba(0, 0, 0, 0.45)"; // darkens what lies outside every box
const POINT_RADIUS = 5; // pad pixels

const HELP =
  "Drag: a box around the object (replaces the boxes; shift-drag adds one). Click: a point on the object. " +
  "Right-click, alt-click or ctrl-click: a point on what to leave out. clear: the whole image again. " +
  "Pixels of the original image, written into the box and points widgets.";
const TEMPLATE = `<div class="area"><canvas></canvas>
<div class="empty">Connect an image (Load Image) or run once to draw here</div><div class="problem" hidden></div></div>
<div class="bar"><span class="hint">drag: box · click: + point · right-click: − point</span>
<button class="clear" type="button" title="Remove the box and the points: the whole image again">clear</button></div>`;

function drawBoxes(context, fit, boxes, padSize) {
  if (!boxes.length) return;
  const rects = boxes.map(([x0, y0, x1, y1]) => {
    const [u0, v0] = imageToPad(fit, [x0, y0]);
    const [u1, v1] = imageToPad(fit, [x1, y1]);
    return [u0, v0, u1 - u0, v1 - v0];
  });
  context.save();
  context.beginPath();
  context.rect(0, 0, ...padSize);
  for (const rect of rects) context.rect(...rect);
  context.fillStyle = OUTSIDE_SHADE;
  context.fill("evenodd"); // the pad minus the boxes
  context.restore();
  context.lineWidth = 2;
  context.strokeStyle = BOX_COLOR;
  for (const rect of rects) context.strokeRect(...rect);
}

function drawPoints(context, fit, points, color) {
  for (const [x, y] of points) {
    const [u, v] = imageToPad(fit, [x + 0.5, y + 0.5]); // the pixel's centre
    context.beginPath();
    context.arc(u, v, POINT_RADIUS, 0, 2 * Math.PI);
    context.fillStyle = color;
    context.fill();
    context.lineWidth = 1.5;
    context.strokeStyle = "#fff";
    context.stroke();
  }
}

function drawDragBox(context, fit, [x0, y0, x1, y1]) {
  const [u0, v0] = imageToPad(fit, [x0, y0]);
  const [u1, v1] = imageToPad(fit, [x1, y1]);
  context.setLineDash([5, 4]);
  context.lineWidth = 1.5;
  context.strokeStyle = BOX_COLOR;
  context.strokeRect(u0, v0, u1 - u0, v1 - v0);
  context.setLineDash([]);
}

/** Build a pad: `{root, area (the picture's part, where gestures go), canvas, clearButton, setImage(source),
 * shownKey(), draw(prompt, dragBox), padPoint(event), fit(), size()}`. `prompt`: `{boxes, positive,
 * negative, bad}` (prompt_text.js); `dragBox`: the box being dragged, drawn dashed. */
export function createPromptPad() {
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-prompt";
  root.innerHTML = TEMPLATE;
  root.title = HELP;
  const canvas = root.querySelector("canvas");
  const empty = root.querySelector(".empty");
  const problem = root.querySelector(".problem");
  const state = { image: null, key: null, prompt: null };

  const padSize = () => [canvas.offsetWidth, canvas.offsetHeight];
  const fit = () => (state.image ? fitImage(...padSize(), size()) : null);
  const size = () => (state.image ? [state.image.naturalWidth, state.image.naturalHeight] : null);

  function draw(prompt = state.prompt, dragBox = null) {
    state.prompt = prompt;
    const [width, height] = padSize();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const placed = fit();
    empty.hidden = !!placed;
    root.dataset.ready = String(!!placed);
    if (!placed || width === 0 || height === 0) return;
    context.drawImage(state.image, placed.left, placed.top, placed.width, placed.height);
    const { boxes = [], positive = [], negative = [], bad = [] } = prompt ?? {};
    drawBoxes(context, placed, boxes, [width, height]);
    drawPoints(context, placed, positive, POSITIVE_COLOR);
    drawPoints(context, placed, negative, NEGATIVE_COLOR);
    if (dragBox) drawDragBox(context, placed, dragBox);
    problem.hidden = bad.length === 0;
    problem.textContent = bad.length ? `not drawn (not in the format): ${bad.join("; ")}` : "";
    root.dataset.size = size().join(",");
    root.dataset.shapes = String(boxes.length + positive.length + negative.length);
  }

  /** Show the image of `source` (`{key, url()}`, prompt_source.js; null: none); an image whose key is
   * the one shown already is kept. Resolves when drawn. */
  async function setImage(source) {
    const key = source?.key ?? null;
    if (key === state.key) return;
    state.key = key;
    if (!source) {
      state.image = null;
      draw();
      return;
    }
    const image = await loadImage(source.url());
    if (state.key !== key) return; // another image was asked for meanwhile
    state.image = image;
    draw();
  }

  /** Pad position `[u, v]` (the pad's own CSS pixels) of a pointer event, whatever the canvas zoom. */
  function padPoint(event) {
    const rect = canvas.getBoundingClientRect();
    const zoom = canvas.offsetWidth ? rect.width / canvas.offsetWidth : 1;
    return [(event.clientX - rect.left) / zoom, (event.clientY - rect.top) / zoom];
  }

  new ResizeObserver(() => draw()).observe(canvas);
  const shownKey = () => state.key;
  return {
    root,
    area: root.querySelector(".area"),
    canvas,
    clearButton: root.querySelector(".clear"),
    setImage,
    shownKey,
    draw,
    padPoint,
    fit,
    size,
  };
}
