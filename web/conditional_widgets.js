// Conditional widgets: a widget shows only while the value that controls it makes it matter.
//
// Hidden widgets are never removed, renamed or retyped: they keep their value and stay in the saved
// workflow (widgets_values) and in API prompts. Both front ends are told (widgets.js setWidgetHidden).

import { chainCallback } from "./callbacks.js";
import { NODE_TYPES } from "./names.js";
import { findWidget, fitNodeToWidgets, nodeTypeOf, refreshVueNode, setWidgetHidden } from "./widgets.js";

const RESOLUTION_RULES = [
  { widget: "width", when: "resolution", show: (v) => v === "custom" },
  { widget: "height", when: "resolution", show: (v) => v === "custom" },
  { widget: "dynamic_long_side", when: "resolution", show: (v) => v === "dynamic" },
];

// The detail-tile widgets (Segment, Remove background): shown only when detail is on.
const DETAIL_TILE_RULES = [
  { widget: "detail_long_side", when: "detail", show: (v) => v === "custom" },
  { widget: "tile_overlap", when: "detail", show: (v) => v !== "off" },
];

// node type -> [{ widget, when, show(value) }]; `when` is the controlling widget's name.
export const CONDITIONAL_WIDGETS = {
  [NODE_TYPES.SEGMENT]: [...RESOLUTION_RULES, ...DETAIL_TILE_RULES],
  [NODE_TYPES.REMOVE_BACKGROUND]: [...DETAIL_TILE_RULES],
  [NODE_TYPES.COMPOSITE]: [
    { widget: "color", when: "background", show: (v) => v === "color" },
    { widget: "fit", when: "background", show: (v) => v === "image" },
  ],
  [NODE_TYPES.REFINE_MASK]: [{ widget: "guided_eps", when: "guided_radius", show: (v) => Number(v) > 0 }],
  [NODE_TYPES.VIDEO_MATTING]: [
    ...RESOLUTION_RULES,
    // the colour is used by the green screen, and by the png format's green-screen preview
    { widget: "color", when: "format", show: (v) => v === "greenscreen" || v === "png" },
  ],
};

/** Rules added at run time (the model list's allow_download rule needs the model info). */
export function addRule(nodeType, rule) {
  (CONDITIONAL_WIDGETS[nodeType] ??= []).push(rule);
}

/** True when the widget's value comes through a link (then the front end cannot know it). */
function isLinked(node, widgetName) {
  const input = node.inputs?.find((i) => i.widget?.name === widgetName || i.name === widgetName);
  return input?.link != null;
}

/** Whether the rule hides its widget now; a controller that is missing or linked shows it. */
function ruleHides(node, rule) {
  const controller = findWidget(node, rule.when);
  const known = controller && !isLinked(node, rule.when);
  return known ? !rule.show(controller.value, node) : false;
}

/** Show or hide the node's conditional widgets for the current values; true when anything changed. */
export function applyConditionalWidgets(node) {
  const rules = CONDITIONAL_WIDGETS[nodeTypeOf(node)];
  if (!rules) return false;
  let changed = false;
  for (const rule of rules) {
    const widget = findWidget(node, rule.widget);
    if (!widget) continue;
    const hidden = ruleHides(node, rule);
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
  const rules = CONDITIONAL_WIDGETS[nodeTypeOf(node)] ?? [];
  for (const name of new Set(rules.map((r) => r.when))) {
    const controller = findWidget(node, name);
    if (!controller || controller.birefnetWatched) continue;
    controller.birefnetWatched = true;
    chainCallback(controller, "callback", () => applyConditionalWidgets(node));
  }
}
