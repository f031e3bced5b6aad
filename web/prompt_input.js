// Drawing the prompt of Segment / Remove background on the image: a pad (prompt_overlay.js) under the
// node's widgets shows the image the node cuts from (prompt_source.js) with the boxes and points of its
// `box` / `points` widgets drawn over it. Gestures (they edit those widgets, in prompt_text.js's formats,
// pixels of the original image):
//   drag: a box (replaces the boxes; shift-drag adds one)   click: a positive point
//   right-click, alt-click or ctrl-click: a negative point   "clear": no box, no points (the whole image)
// Typing into the widgets redraws the pad. The node menu hides or shows the pad (node property, saved
// with the workflow); nodes of workflows saved before the pad existed start with it hidden unless they
// hold a prompt, so that their layout stays as it was.

import { chainCallback } from "./callbacks.js";
import { GUIDE_WIDGETS } from "./names.js";
import { boxBetween, padToImage, pixelAt } from "./prompt_geometry.js";
import { createPromptPad } from "./prompt_overlay.js";
import { promptImageSource } from "./prompt_source.js";
import { formatBoxes, formatPoints, parseBoxes, parsePoints } from "./prompt_text.js";
import { addDisplayWidget, findWidget, fitNodeToWidgets, refreshVueNode, setWidgetHidden } from "./widgets.js";

const PAD_WIDGET = "birefnet_prompt";
const PAD_PROPERTY = "birefnet_prompt_pad"; // true: pad shown when there is a picture; false: hidden
const PAD_HEIGHT = 220; // minimum, CSS px
const DRAG_THRESHOLD = 4; // pad pixels a press moves before it draws a box instead of a point
const SOURCE_POLL_MS = 1000; // how often the pad looks whether the upstream picture changed

/** True for a node type whose definition has the prompt widgets (ComfyUI's node definition). */
export function takesPrompt(nodeData) {
  const inputs = { ...nodeData?.input?.required, ...nodeData?.input?.optional };
  return GUIDE_WIDGETS.BOX in inputs && GUIDE_WIDGETS.POINTS in inputs;
}

/** The node's prompt as drawn: `{boxes, positive, negative, bad}` from its widgets' text. */
function readPrompt(node) {
  const { boxes, bad: badBoxes } = parseBoxes(findWidget(node, GUIDE_WIDGETS.BOX)?.value);
  const { positive, negative, bad } = parsePoints(findWidget(node, GUIDE_WIDGETS.POINTS)?.value);
  return { boxes, positive, negative, bad: [...badBoxes, ...bad] };
}

/** The widgets' texts the pad was drawn from, to notice a change that called no callback (undo, ...). */
function promptText(node) {
  return `${findWidget(node, GUIDE_WIDGETS.BOX)?.value}\n${findWidget(node, GUIDE_WIDGETS.POINTS)?.value}`;
}

/** Draw the node's prompt on its pad (with `dragBox`, the box being dragged, when given). */
function drawPrompt(node, pad, dragBox = null) {
  pad.drawnText = promptText(node);
  pad.draw(readPrompt(node), dragBox);
}

/** Set a widget's text as the UI does (value, then its callback, which redraws the pad). */
function writeWidget(node, name, text) {
  const widget = findWidget(node, name);
  if (!widget || widget.value === text) return;
  widget.value = text;
  widget.callback?.(text, globalThis.app?.canvas, node);
  node.graph?.change?.();
  node.setDirtyCanvas?.(true, true);
}

function writePrompt(node, { boxes, positive, negative }) {
  writeWidget(node, GUIDE_WIDGETS.BOX, formatBoxes(boxes));
  writeWidget(node, GUIDE_WIDGETS.POINTS, formatPoints(positive, negative));
  refreshVueNode(node); // the Vue renderer of front end 1.32 shows a copy of the widget values
}

/** What a finished press does to the prompt (a new prompt), or null when it changes nothing. */
function applyPress(prompt, press, end, size) {
  const next = { ...prompt };
  if (press.moved && press.button === 0) {
    const box = boxBetween(press.start, end, size);
    if (!box) return null;
    next.boxes = press.shift ? [...prompt.boxes, box] : [box];
    return next;
  }
  const pixel = pixelAt(end, size);
  if (!pixel) return null; // a click beside the image (letterbox)
  if (press.negative) next.negative = [...prompt.negative, pixel];
  else next.positive = [...prompt.positive, pixel];
  return next;
}

/** Mouse and touch on the pad's picture: boxes and points into the widgets, never a node drag or a menu. */
function listenForGestures(node, pad) {
  const area = pad.area;
  let press = null; // {start: image coordinates, startPad, button, shift, negative, moved}
  const stop = (event) => {
    event.preventDefault();
    event.stopPropagation();
  };
  area.addEventListener("pointerdown", (event) => {
    const fit = pad.fit();
    if (!fit) return;
    stop(event);
    area.setPointerCapture?.(event.pointerId);
    const startPad = pad.padPoint(event);
    press = {
      start: padToImage(fit, startPad),
      startPad,
      button: event.button,
      shift: event.shiftKey,
      negative: event.button === 2 || event.altKey || event.ctrlKey,
      moved: false,
    };
  });
  area.addEventListener("pointermove", (event) => {
    if (!press) return;
    stop(event);
    const here = pad.padPoint(event);
    press.moved ||= Math.hypot(here[0] - press.startPad[0], here[1] - press.startPad[1]) > DRAG_THRESHOLD;
    if (press.moved && press.button === 0) {
      drawPrompt(node, pad, boxBetween(press.start, padToImage(pad.fit(), here), pad.size()));
    }
  });
  area.addEventListener("pointerup", (event) => {
    if (!press) return;
    stop(event);
    area.releasePointerCapture?.(event.pointerId);
    const next = applyPress(readPrompt(node), press, padToImage(pad.fit(), pad.padPoint(event)), pad.size());
    press = null;
    if (next) writePrompt(node, next);
    drawPrompt(node, pad);
  });
  area.addEventListener("pointercancel", () => {
    press = null;
    drawPrompt(node, pad);
  });
  area.addEventListener("contextmenu", stop); // right-click is a negative point, not a menu
  pad.clearButton.addEventListener("pointerdown", (event) => event.stopPropagation());
  pad.clearButton.addEventListener("click", (event) => {
    stop(event);
    writePrompt(node, { boxes: [], positive: [], negative: [] });
    drawPrompt(node, pad);
  });
}

/** The node's pad widget, created on first use (hidden until there is a picture to draw on). */
function padWidget(node) {
  let widget = findWidget(node, PAD_WIDGET);
  if (widget) return widget;
  const pad = createPromptPad();
  widget = addDisplayWidget(node, PAD_WIDGET, pad.root, PAD_HEIGHT);
  widget.birefnetPad = pad;
  setWidgetHidden(widget, true);
  listenForGestures(node, pad);
  for (const name of Object.values(GUIDE_WIDGETS)) {
    const text = findWidget(node, name);
    if (text) chainCallback(text, "callback", () => drawPrompt(node, pad));
  }
  return widget;
}

/** The picture the pad should show (null: none, or the pad is turned off). */
function wantedSource(node) {
  return node.properties?.[PAD_PROPERTY] === false ? null : promptImageSource(node, node.birefnetLastPreview);
}

/** Refresh the pad when its picture should change (the upstream node picked another file, ...), redraw
 * it when the widgets' texts changed without a callback. */
function pollPromptPad(node) {
  const pad = findWidget(node, PAD_WIDGET)?.birefnetPad;
  if (!pad || (wantedSource(node)?.key ?? null) !== pad.shownKey()) refreshPromptPad(node);
  else if (pad.drawnText !== promptText(node)) drawPrompt(node, pad);
}

/** Show the pad with the current picture and prompt, or hide it (no picture, or turned off). */
export function refreshPromptPad(node) {
  const widget = padWidget(node);
  const source = wantedSource(node);
  const hidden = source == null;
  if (!!widget.hidden !== hidden) {
    setWidgetHidden(widget, hidden);
    refreshVueNode(node);
    if (hidden) fitNodeToWidgets(node);
    else node.setSize?.([Math.max(node.size[0], 320), Math.max(node.size[1], node.computeSize()[1])]);
    node.setDirtyCanvas?.(true, true);
  }
  drawPrompt(node, widget.birefnetPad);
  widget.birefnetPad.setImage(source).catch((error) => console.warn("BiRefNet: prompt pad:", error.message));
}

function hasPrompt(node) {
  const { boxes, positive, negative, bad } = readPrompt(node);
  return boxes.length + positive.length + negative.length + bad.length > 0;
}

/** The node menu's entry that shows or hides the pad. */
function padMenuOption(node) {
  const on = node.properties?.[PAD_PROPERTY] !== false;
  return {
    content: on ? "Hide the box / points drawing" : "Draw a box / points on the image",
    callback: () => {
      node.properties ??= {};
      node.properties[PAD_PROPERTY] = !on;
      refreshPromptPad(node);
    },
  };
}

/** Chain the pad's behaviour after the node type's callbacks (Segment, Remove background). */
export function extendPromptNodeType(proto) {
  chainCallback(proto, "onNodeCreated", function () {
    this.properties ??= {};
    this.properties[PAD_PROPERTY] ??= true; // a new node shows it; onConfigure decides for saved ones
    const poll = setInterval(() => (this.graph ? pollPromptPad(this) : clearInterval(poll)), SOURCE_POLL_MS);
    chainCallback(this, "onRemoved", () => clearInterval(poll));
    refreshPromptPad(this);
  });
  chainCallback(proto, "onConfigure", function (info) {
    if (info?.properties?.[PAD_PROPERTY] === undefined) this.properties[PAD_PROPERTY] = hasPrompt(this);
    queueMicrotask(() => refreshPromptPad(this));
  });
  chainCallback(proto, "onConnectionsChange", function () {
    refreshPromptPad(this);
  });
  chainCallback(proto, "onExecuted", function () {
    refreshPromptPad(this);
  });
  chainCallback(proto, "getExtraMenuOptions", function (_canvas, options) {
    options.push(padMenuOption(this));
  });
}
