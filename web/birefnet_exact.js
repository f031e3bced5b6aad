// Front-end extension of the BiRefNet (exact) node pack: plain ES modules, loaded by ComfyUI from the
// pack's WEB_DIRECTORY. Uses the classic extension API (app.registerExtension, api.fetchApi), which both
// the front end bundled with ComfyUI 0.3.75 (1.32) and newer ones support.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import {
  addRule,
  applyConditionalWidgets,
  CONDITIONAL_WIDGETS,
  findWidget,
  watchControllingWidgets,
} from "./conditional_widgets.js";
import {
  annotateModelCombo,
  formatBytes,
  modelDescription,
  modelDetails,
  modelEntry,
  refreshModelInfo,
} from "./model_info.js";
import { hidePreview, infoWidget, showPreview } from "./preview_widget.js";

const LOADER = "BiRefNetExactLoadModel";
const REMOVE_BACKGROUND = "BiRefNetExactRemoveBackground";
const MODEL_NODES = new Set([LOADER, REMOVE_BACKGROUND]);
const PREVIEW_NODES = new Set([
  "BiRefNetExactSegment",
  "BiRefNetExactRefineMask",
  "BiRefNetExactComposite",
  REMOVE_BACKGROUND,
]);
// Mask previews (Segment, Refine) are off until turned on in the node's menu; cut-outs always show.
const MASK_PREVIEW_NODES = new Set(["BiRefNetExactSegment", "BiRefNetExactRefineMask"]);
const MASK_PREVIEW_PROPERTY = "birefnet_mask_preview";
const OUR_NODES = new Set([...MODEL_NODES, ...PREVIEW_NODES, ...Object.keys(CONDITIONAL_WIDGETS)]);
const DOWNLOAD_EVENT = "birefnet_exact.download";

// allow_download matters only for a variant that is not on disk yet (or when that is not known).
for (const nodeType of MODEL_NODES) {
  addRule(nodeType, {
    widget: "allow_download",
    when: "model",
    show: (value) => {
      const kind = modelEntry(value)?.kind;
      return kind !== "file" && kind !== "variant_on_disk";
    },
  });
}

function graph() {
  return app.rootGraph ?? app.graph; // app.graph is deprecated where rootGraph exists
}

function ourNodes() {
  return (graph()?.nodes ?? []).filter((node) => OUR_NODES.has(node.comfyClass ?? node.type));
}

function updateModelText(node) {
  const model = findWidget(node, "model");
  const info = node.widgets?.find((w) => w.name === "birefnet_info");
  if (model && info) info.birefnetInfo.setAbout(modelDescription(model.value), modelDetails(model.value));
}

function setUp(node) {
  const nodeType = node.comfyClass ?? node.type;
  if (MODEL_NODES.has(nodeType)) {
    const model = findWidget(node, "model");
    if (model) {
      annotateModelCombo(model);
      const original = model.callback;
      model.callback = function (...args) {
        const result = original?.apply(this, args);
        infoWidget(node).birefnetInfo.setStatus("");
        updateModelText(node);
        return result;
      };
    }
    infoWidget(node);
    updateModelText(node);
  }
  watchControllingWidgets(node);
  applyConditionalWidgets(node);
}

function onDownload(event) {
  const { node: nodeId, name, repo_id: repo, received, total } = event.detail ?? {};
  const node = graph()?.getNodeById?.(nodeId) ?? graph()?.getNodeById?.(Number(nodeId));
  if (!node || !MODEL_NODES.has(node.comfyClass ?? node.type)) return;
  const done = total ? ` (${Math.floor((100 * received) / total)}%)` : "";
  infoWidget(node).birefnetInfo.setStatus(
    `Downloading ${name}${repo ? ` from ${repo}` : ""}: ${formatBytes(received)} of ${formatBytes(total)}${done}`,
  );
}

app.registerExtension({
  name: "BiRefNetExact.FrontEnd",

  async setup() {
    api.addEventListener(DOWNLOAD_EVENT, onDownload);
    await refreshModelInfo();
    for (const node of ourNodes()) {
      updateModelText(node);
      applyConditionalWidgets(node);
    }
  },

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!OUR_NODES.has(nodeData.name)) return;
    const proto = nodeType.prototype;

    const onNodeCreated = proto.onNodeCreated;
    proto.onNodeCreated = function (...args) {
      const result = onNodeCreated?.apply(this, args);
      setUp(this);
      return result;
    };

    // After a workflow loads, widget values are the saved ones: re-apply visibility.
    const onConfigure = proto.onConfigure;
    proto.onConfigure = function (...args) {
      const result = onConfigure?.apply(this, args);
      queueMicrotask(() => {
        updateModelText(this);
        applyConditionalWidgets(this);
      });
      return result;
    };

    // A link on a controlling widget's input makes its value unknown here: show the dependants.
    const onConnectionsChange = proto.onConnectionsChange;
    proto.onConnectionsChange = function (...args) {
      const result = onConnectionsChange?.apply(this, args);
      applyConditionalWidgets(this);
      return result;
    };

    const onExecuted = proto.onExecuted;
    proto.onExecuted = function (output, ...rest) {
      const result = onExecuted?.apply(this, [output, ...rest]);
      const info = output?.birefnet_info?.[0];
      if (info) infoWidget(this).birefnetInfo.setStatus(`Loaded: ${info}`);
      const preview = output?.birefnet_preview?.[0];
      const wanted = !MASK_PREVIEW_NODES.has(nodeData.name) || this.properties?.[MASK_PREVIEW_PROPERTY];
      this.birefnetLastPreview = preview;
      if (preview && wanted && PREVIEW_NODES.has(nodeData.name)) showPreview(this, preview);
      return result;
    };

    if (MASK_PREVIEW_NODES.has(nodeData.name)) {
      const getExtraMenuOptions = proto.getExtraMenuOptions;
      proto.getExtraMenuOptions = function (canvas, options) {
        const result = getExtraMenuOptions?.apply(this, [canvas, options]);
        const on = !!this.properties?.[MASK_PREVIEW_PROPERTY];
        options.push({
          content: on ? "Hide mask preview" : "Show mask preview (tinted over the image)",
          callback: () => {
            this.properties ??= {};
            this.properties[MASK_PREVIEW_PROPERTY] = !on;
            if (!on && this.birefnetLastPreview) showPreview(this, this.birefnetLastPreview);
            if (on) hidePreview(this);
          },
        });
        return result;
      };
    }
  },

  // ComfyUI refreshed its node definitions (R, or the Refresh button): the model folders may have changed.
  async refreshComboInNodes() {
    await refreshModelInfo();
    for (const node of ourNodes()) {
      updateModelText(node);
      applyConditionalWidgets(node);
    }
  },
});
