// Names the front end shares with the pack's Python side (nodes/). Each is written there too:
// tests/web/test_names.py checks that both copies match.

/** GET route with what each model list entry is (nodes/routes.py MODELS_ROUTE). */
export const MODELS_ROUTE = "/birefnet_exact/models";

/** Websocket event sent while a variant downloads (nodes/routes.py DOWNLOAD_EVENT). */
export const DOWNLOAD_EVENT = "birefnet_exact.download";

/** The loader's ui output key: what was loaded (nodes/load_model_node.py INFO_KEY). */
export const INFO_KEY = "birefnet_info";

/** The previewing nodes' ui output key (nodes/previews.py PREVIEW_KEY). */
export const PREVIEW_KEY = "birefnet_preview";

/** Node ids of the pack's nodes (`node_id` of each node's io.Schema). */
export const NODE_TYPES = Object.freeze({
  LOAD_MODEL: "BiRefNetExactLoadModel",
  SEGMENT: "BiRefNetExactSegment",
  REFINE_MASK: "BiRefNetExactRefineMask",
  COMPOSITE: "BiRefNetExactComposite",
  REMOVE_BACKGROUND: "BiRefNetExactRemoveBackground",
  VIDEO_MATTING: "BiRefNetExactVideoMatting",
  CROP_TO_SUBJECT: "BiRefNetExactCropToSubject",
  PASTE_BACK: "BiRefNetExactPasteBack",
});

/** Inputs of Segment and Remove background that choose the object (nodes/guided_inputs.py REGION_INPUT,
 * BOX_WIDGET, POINTS_WIDGET; nodes/shared_inputs.py MARGIN_WIDGET). The front end draws into box and points,
 * in the library's text formats (web/prompt_text.js). */
export const GUIDE_WIDGETS = Object.freeze({
  REGION: "region",
  MARGIN: "margin",
  BOX: "box",
  POINTS: "points",
});

/** `kind` of a model list entry (nodes/model_info.py describe_choice). */
export const MODEL_KINDS = Object.freeze({
  FILE: "file",
  VARIANT_ON_DISK: "variant_on_disk",
  DOWNLOAD: "download",
  MISSING: "missing",
});

/** `kind` of a preview payload (nodes/previews.py cutout_preview, mask_preview). */
export const PREVIEW_KINDS = Object.freeze({
  CUTOUT: "cutout",
  MASK: "mask",
});
