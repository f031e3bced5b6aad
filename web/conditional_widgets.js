// Conditional widgets: a widget shows only while the value that controls it makes it matter.
//
// Hidden widgets are never removed, renamed or retyped: they keep their value and stay in the saved
// workflow (widgets_values) and in API prompts. Both front ends are told: the classic LiteGraph canvas
// reads `widget.hidden`, the Vue node renderer ("Nodes 2.0") reads `widget.options.hidden`.

// The detail-tile widgets (Segment, Remove background): shown only when detail is on.
const DETAIL_TILE_RULES = [
  { widget: "detail_long_side", when: "detail", show: (v) => v === "custom" },
  { widget: "tile_overlap", when: "detail", show: (v) => v !== "off" },
];

// node type -> [{ widget, when, show(value) }]; `when` is the controlling widget's name.
export const CONDITIONAL_WIDGETS = {
  BiRefNetExactSegment: [
    { widget: "width", when: "resolution", show: (v) => v === "custom" },
    { widget: "height", when: "resolution", show: (v) => v === "custom" },
    { widget: "dynamic_long_side", when: "resolution", show: (v) => v === "dynamic" },
    ...DETAIL_TILE_RULES,
  ],
  BiRefNetExactRemoveBackground: [...DETAIL_TILE_RULES],
  BiRefNetExactComposite: [
    { widget: "color", when: "background", show: (v) => v === "color" },
    { widget: "fit", when: "background", show: (v) => v === "image" },
  ],
  BiRefNetExactRefineMask: [{ widget: "guided_eps", when: "guided_radius", show: (v) => Number(v) > 0 }],
  BiRefNetExactVideoMatting: [
    { widget: "width", when: "resolution", show: (v) => v === "custom" },
    { widget: "height", when: "resolution", show: (v) => v === "custom" },
    { widget: "dynamic_long_side", when: "resolution", show: (v) => v === "dynamic" },
    // the colour is used by the green screen, and by the png format's green-screen preview
    { widget: "color", when: "format", show: (v) => v === "greenscreen" || v === "png" },
  ],
};

/** Rules added at run time (the model list's allow_download rule needs the model info). */
export function addRule(nodeType, rule) {
  (CONDITIONAL_WIDGETS[nodeType] ??= []).push(rule);
}

export function findWidget(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

/** True when the widget's value comes through a link (then the front end cannot know it). */
function isLinked(node, widgetName) {
  const input = node.inputs?.find((i) => i.widget?.name === widgetName || i.name === widgetName);
  return input?.link != null;
}

const COLLAPSED_SIZE = () => [0, -4]; // LiteGraph adds 4 px between widgets: a hidden one takes none

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

/** Fit the node's height to its visible widgets (keeps a larger width; never cuts a preview). */
export function fitNodeToWidgets(node) {
  if (!node.computeSize || !node.setSize) return;
  const wanted = node.computeSize();
  const keepsPreview = node.widgets?.some((w) => w.birefnetPreview);
  const height = keepsPreview ? Math.max(wanted[1], node.size[1]) : wanted[1];
  node.setSize([Math.max(node.size[0], wanted[0]), height]);
  node.setDirtyCanvas?.(true, true);
}

/** Show or hide the node's conditional widgets for the current values; true when anything changed. */
export function applyConditionalWidgets(node) {
  const rules = CONDITIONAL_WIDGETS[node.comfyClass ?? node.type];
  if (!rules) return false;
  let changed = false;
  for (const rule of rules) {
    const widget = findWidget(node, rule.widget);
    const controller = findWidget(node, rule.when);
    if (!widget) continue;
    const known = controller && !isLinked(node, rule.when);
    const hidden = known ? !rule.show(controller.value, node) : false;
    if (!!widget.hidden !== hidden || !!widget.options?.hidden !== hidden) {
      setWidgetHidden(widget, hidden);
      changed = true;
    }
  }
  if (changed) {
    refreshVueNode(node);
    fitNodeToWidgets(node);
  }
  return changed;
}

/** Re-apply the rules whenever a controlling widget changes (chained after its own callback). */
export function watchControllingWidgets(node) {
  const rules = CONDITIONAL_WIDGETS[node.comfyClass ?? node.type] ?? [];
  for (const name of new Set(rules.map((r) => r.when))) {
    const controller = findWidget(node, name);
    if (!controller || controller.birefnetWatched) continue;
    controller.birefnetWatched = true;
    const original = controller.callback;
    controller.callback = function (...args) {
      const result = original?.apply(this, args);
      applyConditionalWidgets(node);
      return result;
    };
  }
}
