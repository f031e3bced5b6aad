// Previews that show the alpha, drawn in DOM widgets (node.addDOMWidget) so they work in the classic
// canvas and in the Vue node renderer alike (Vue nodes do not call onDrawForeground).
//
// cut-out: the result over a checkerboard, the original on the left of a slider dragged with the mouse.
// mask: the mask tinted over its image (same slider: image on the left), or the mask alone.
// The files come from the node's PREVIEW_KEY ui payload (nodes/previews.py), served by /view.

import { PREVIEW_KEY } from "./names.js";
import { createPreviewElement } from "./preview_element.js";
import { addDisplayWidget, findWidget, refreshVueNode, setFittedSize, setWidgetHidden } from "./widgets.js";

const PREVIEW_WIDGET = PREVIEW_KEY; // the widget is named after the payload it shows

/** Make the node big enough for a preview (at least 320 px wide, 60 px taller than its widgets). */
function growForPreview(node) {
  if (!node.setSize || !node.computeSize) return;
  const wanted = node.computeSize();
  setFittedSize(node, [Math.max(node.size[0], wanted[0], 320), Math.max(node.size[1], wanted[1] + 60)]);
}

/** The node's preview widget, created on first use. */
export function previewWidget(node) {
  let widget = findWidget(node, PREVIEW_WIDGET);
  if (widget) return widget;
  const preview = createPreviewElement();
  widget = addDisplayWidget(node, PREVIEW_WIDGET, preview.root, 180);
  widget.birefnetPreview = preview;
  refreshVueNode(node);
  growForPreview(node);
  return widget;
}

/** Show a preview payload in the node (its widget shown again if it was hidden). */
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

/** The image the node's preview shows: `{index, count, frame}` (0-based index among the `count` previewed
 * images; `frame` is that image's payload with its files), or null when it shows none. The element fires
 * "birefnet-preview-frame" with the same detail whenever another image is shown (its `root`:
 * `previewWidget(node).birefnetPreview.root`). */
export function shownPreviewFrame(node) {
  const widget = findWidget(node, PREVIEW_WIDGET);
  return widget && !widget.hidden ? widget.birefnetPreview.shown() : null;
}

/** Hide the preview widget again (kept, so its element and listeners are reused). */
export function hidePreview(node) {
  const widget = findWidget(node, PREVIEW_WIDGET);
  if (!widget) return;
  setWidgetHidden(widget, true);
  refreshVueNode(node);
  if (node.setSize && node.computeSize) setFittedSize(node, [node.size[0], node.computeSize()[1]]);
}
