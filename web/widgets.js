// Helpers for widgets and the nodes that hold them, for both renderers: the classic LiteGraph canvas
// and the Vue node renderer ("Nodes 2.0"), in front end 1.32 and newer.

/** The node's type, as the pack's node ids name it. */
export function nodeTypeOf(node) {
  return node.comfyClass ?? node.type;
}

export function findWidget(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

const COLLAPSED_SIZE = () => [0, -4]; // LiteGraph adds 4 px between widgets: a hidden one takes none

/** Hide or show a widget: the classic canvas reads `widget.hidden`, Vue nodes `widget.options.hidden`. */
export function setWidgetHidden(widget, hidden) {
  widget.hidden = hidden;
  widget.options ??= {};
  widget.options.hidden = hidden;
  // The classic canvas of front end 1.32 skips hidden widgets when drawing and sizing the node, but
  // still reserves their rows when it lays the widgets out; a zero computeSize removes the gap.
  const saved = widget.birefnetComputeSize;
  if (hidden && !saved) {
    widget.birefnetComputeSize = { own: Object.hasOwn(widget, "computeSize"), fn: widget.computeSize };
    widget.computeSize = COLLAPSED_SIZE;
  } else if (!hidden && saved) {
    if (saved.own) widget.computeSize = saved.fn;
    else delete widget.computeSize;
    delete widget.birefnetComputeSize;
  }
}

/** Make the Vue node renderer ("Nodes 2.0") of front end 1.32 re-read the widgets' options.
 *
 * 1.32 builds each Vue node's data from its widgets when the node is added, and after a widget value
 * changes it keeps a copy that no longer follows `options.hidden`. Its marker is the `widgets` accessor
 * it defines on each node; announcing the node again (graph.onNodeAdded, what 1.32 itself calls for a
 * new node) rebuilds the data. Newer front ends follow `options.hidden` directly and need nothing here. */
export function refreshVueNode(node) {
  const accessor = Object.getOwnPropertyDescriptor(node, "widgets")?.get;
  if (!globalThis.LiteGraph?.vueNodesMode || !accessor || !node.graph?.onNodeAdded) return;
  node.graph.onNodeAdded(node);
}

// Node property: the height the pack last gave the node. A saved height that differs was set by hand.
const FITTED_HEIGHT = "birefnet_fitted_height";

/** Resize the node to `size` ([width, height], canvas px) and remember the height as the pack's own. */
export function setFittedSize(node, size) {
  node.setSize(size);
  node.properties ??= {};
  node.properties[FITTED_HEIGHT] = node.size[1];
  node.setDirtyCanvas?.(true, true);
}

/** Fit the node's height to its visible widgets (keeps a larger width; never cuts a preview). */
export function fitNodeToWidgets(node) {
  if (!node.computeSize || !node.setSize) return;
  const wanted = node.computeSize();
  const keepsPreview = node.widgets?.some((w) => w.birefnetPreview);
  const height = keepsPreview ? Math.max(wanted[1], node.size[1]) : wanted[1];
  setFittedSize(node, [Math.max(node.size[0], wanted[0]), height]);
}

/** Make the node tall enough for its widgets (never shrinks it). */
export function growNodeToWidgets(node) {
  if (!node.computeSize || !node.setSize) return;
  const wanted = node.computeSize();
  if (node.size[1] + 1 >= wanted[1] && node.size[0] + 1 >= wanted[0]) return;
  setFittedSize(node, [Math.max(node.size[0], wanted[0]), Math.max(node.size[1], wanted[1])]);
}

/** Whether the node was `saved` (its object in the workflow) with a height set by hand: one that differs
 * from the height the pack gave it. Workflows saved before the pack remembered its heights: never. */
export function savedHeightSetByHand(saved) {
  const fitted = saved?.properties?.[FITTED_HEIGHT];
  const height = saved?.size?.[1];
  return fitted != null && height != null && Math.abs(fitted - height) > 1;
}

/** After a workflow loaded: the node takes the height of its visible widgets, unless it was saved with a
 * height set by hand (`handSize`: its saved [width, height], else null), which it keeps (not remembered as
 * the pack's own) as long as nothing is cut off. */
export function fitLoadedNode(node, handSize) {
  if (!handSize) return fitNodeToWidgets(node);
  if (!node.computeSize || !node.setSize) return;
  const wanted = node.computeSize();
  node.setSize([Math.max(handSize[0], wanted[0]), Math.max(handSize[1], wanted[1])]);
  node.setDirtyCanvas?.(true, true);
}

/** Add a DOM widget that holds no value: never in widgets_values or API prompts. `minHeight`: CSS px, or a
 * function that returns them (asked whenever the node is laid out). */
export function addDisplayWidget(node, name, element, minHeight) {
  const widget = node.addDOMWidget(name, name, element, {
    serialize: false,
    hideOnZoom: false,
    getValue: () => undefined,
    setValue: () => {},
    getMinHeight: typeof minHeight === "function" ? minHeight : () => minHeight,
  });
  widget.serialize = false;
  return widget;
}
