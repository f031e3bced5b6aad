// Front-end extension of the BiRefNet (exact) node pack: plain ES modules, loaded by ComfyUI from the
// pack's WEB_DIRECTORY. Uses the classic extension API (app.registerExtension, api.fetchApi), which both
// the front end bundled with ComfyUI 0.3.75 (1.32) and newer ones support.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { chainCallback } from "./callbacks.js";
import {
  addRule,
  applyConditionalWidgets,
  CONDITIONAL_WIDGETS,
  watchControllingWidgets,
} from "./conditional_widgets.js";
import { infoWidget, setInfoStatus } from "./info_widget.js";
import {
  annotateModelCombo,
  formatBytes,
  modelDescription,
  modelDetails,
  modelOnDisk,
  refreshModelInfo,
} from "./model_info.js";
import { DOWNLOAD_EVENT, INFO_KEY, NODE_TYPES, PREVIEW_KEY } from "./names.js";
import { hidePreview, showPreview } from "./preview_widget.js";
import { extendPromptNodeType, takesPrompt } from "./prompt_input.js";
import { findWidget, fitLoadedNode, fitNodeToWidgets, nodeTypeOf, savedHeightSetByHand } from "./widgets.js";

const MODEL_NODES = new Set([NODE_TYPES.LOAD_MODEL, NODE_TYPES.REMOVE_BACKGROUND]);
const PREVIEW_NODES = new Set([
  NODE_TYPES.SEGMENT,
  NODE_TYPES.REFINE_MASK,
  NODE_TYPES.COMPOSITE,
  NODE_TYPES.REMOVE_BACKGROUND,
]);
// Mask previews (Segment, Refine) are off until turned on in the node's menu; cut-outs always show.
const MASK_PREVIEW_NODES = new Set([NODE_TYPES.SEGMENT, NODE_TYPES.REFINE_MASK]);
const MASK_PREVIEW_PROPERTY = "birefnet_mask_preview";
const OUR_NODES = new Set([...MODEL_NODES, ...PREVIEW_NODES, ...Object.keys(CONDITIONAL_WIDGETS)]);

// allow_download matters only for a variant that is not on disk yet (or when that is not known).
for (const nodeType of MODEL_NODES) {
  addRule(nodeType, { widget: "allow_download", when: "model", show: (value) => !modelOnDisk(value) });
}

function graph() {
  return app.rootGraph ?? app.graph; // app.graph is deprecated where rootGraph exists
}

function ourNodes() {
  return (graph()?.nodes ?? []).filter((node) => OUR_NODES.has(nodeTypeOf(node)));
}

/** Describe the chosen model on the node's info line. */
function updateModelText(node) {
  const model = findWidget(node, "model");
  const info = findWidget(node, INFO_KEY);
  if (model && info) info.birefnetInfo.setAbout(modelDescription(model.value), modelDetails(model.value));
}

/** Update what depends on widget values and model info (after a load, or a refresh of the model list). */
function refreshNode(node) {
  updateModelText(node);
  applyConditionalWidgets(node);
}

/** A model node: annotated model list, and an info line that follows the chosen model. */
function setUpModelNode(node) {
  const model = findWidget(node, "model");
  if (model) {
    annotateModelCombo(model);
    chainCallback(model, "callback", () => {
      setInfoStatus(node, "");
      updateModelText(node);
    });
  }
  infoWidget(node);
  updateModelText(node);
}

function setUp(node) {
  if (MODEL_NODES.has(nodeTypeOf(node))) setUpModelNode(node);
  watchControllingWidgets(node);
  applyConditionalWidgets(node);
  fitNodeToWidgets(node); // a new node: the height of its visible widgets, remembered as the pack's
}

/** Download progress (DOWNLOAD_EVENT from nodes/model_handle.py) on the downloading node's info line. */
function onDownload(event) {
  const { node: nodeId, name, repo_id: repo, received, total } = event.detail ?? {};
  const node = graph()?.getNodeById?.(nodeId) ?? graph()?.getNodeById?.(Number(nodeId));
  if (!node || !MODEL_NODES.has(nodeTypeOf(node))) return;
  const done = total ? ` (${Math.floor((100 * received) / total)}%)` : "";
  setInfoStatus(
    node,
    `Downloading ${name}${repo ? ` from ${repo}` : ""}: ${formatBytes(received)} of ${formatBytes(total)}${done}`,
  );
}

/** After a run: what was loaded (loader), and the preview unless it is a mask preview turned off. */
function onExecuted(node, nodeType, output) {
  const info = output?.[INFO_KEY]?.[0];
  if (info) setInfoStatus(node, `Loaded: ${info}`);
  const preview = output?.[PREVIEW_KEY]?.[0];
  const wanted = !MASK_PREVIEW_NODES.has(nodeType) || node.properties?.[MASK_PREVIEW_PROPERTY];
  node.birefnetLastPreview = preview;
  if (preview && wanted && PREVIEW_NODES.has(nodeType)) showPreview(node, preview);
}

/** The node menu's entry that turns the mask preview on or off. */
function maskPreviewMenuOption(node) {
  const on = !!node.properties?.[MASK_PREVIEW_PROPERTY];
  return {
    content: on ? "Hide mask preview" : "Show mask preview (tinted over the image)",
    callback: () => {
      node.properties ??= {};
      node.properties[MASK_PREVIEW_PROPERTY] = !on;
      if (!on && node.birefnetLastPreview) showPreview(node, node.birefnetLastPreview);
      if (on) hidePreview(node);
    },
  };
}

/** Chain the pack's behaviour after the node type's own callbacks. */
function extendNodeType(proto, nodeType) {
  chainCallback(proto, "onNodeCreated", function () {
    setUp(this);
  });
  // After a workflow loads, widget values are the saved ones: re-apply visibility, then take the height of
  // the visible widgets (a height the user set by hand stays, see widgets.js savedHeightSetByHand).
  chainCallback(proto, "onConfigure", function (saved) {
    const handSize = savedHeightSetByHand(saved) ? [...saved.size] : null;
    queueMicrotask(() => {
      refreshNode(this);
      fitLoadedNode(this, handSize);
    });
  });
  // A link on a controlling widget's input makes its value unknown here: show the dependants.
  chainCallback(proto, "onConnectionsChange", function () {
    applyConditionalWidgets(this);
  });
  chainCallback(proto, "onExecuted", function (output) {
    onExecuted(this, nodeType, output);
  });
  if (MASK_PREVIEW_NODES.has(nodeType)) {
    chainCallback(proto, "getExtraMenuOptions", function (_canvas, options) {
      options.push(maskPreviewMenuOption(this));
    });
  }
}

async function refreshAllNodes() {
  await refreshModelInfo();
  for (const node of ourNodes()) refreshNode(node);
}

app.registerExtension({
  name: "BiRefNetExact.FrontEnd",

  async setup() {
    api.addEventListener(DOWNLOAD_EVENT, onDownload);
    await refreshAllNodes();
  },

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (OUR_NODES.has(nodeData.name)) extendNodeType(nodeType.prototype, nodeData.name);
    // Segment, Remove background: draw the box and points on the image (after the calls above).
    if (OUR_NODES.has(nodeData.name) && takesPrompt(nodeData)) extendPromptNodeType(nodeType.prototype);
  },

  // ComfyUI refreshed its node definitions (R, or the Refresh button): the model folders may have changed.
  async refreshComboInNodes() {
    await refreshAllNodes();
  },
});
