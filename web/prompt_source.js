// Which picture the drawing pad shows: the image the node will cut from, so that a box or point drawn on
// it is in pixels of that image. In order:
// 1. the picture of the node feeding the `image` input when it picks a file (Load Image's `image`
//    widget: the original file from ComfyUI's input folder, at its own size);
// 2. the picture that node shows (`imgs`, e.g. a node that previews its output);
// 3. the image of this node's last run (the preview payload's original, first image of a batch).

import { viewUrl } from "./preview_images.js";
import { findWidget } from "./widgets.js";

const IMAGE_INPUT = "image";
const FOLDER_NOTE = /^(.*?)(?:\s*\[(input|output|temp)\])?$/; // "name.png [output]"

/** The /view file `{filename, subfolder, type}` of a Load Image value ("sub/name.png", "name.png [output]"). */
export function pickedFile(value) {
  const [, path, type] = FOLDER_NOTE.exec(value);
  const slash = path.lastIndexOf("/");
  return { filename: path.slice(slash + 1), subfolder: slash < 0 ? "" : path.slice(0, slash), type: type ?? "input" };
}

function upstreamNode(node) {
  const slot = node.inputs?.findIndex((input) => input.name === IMAGE_INPUT) ?? -1;
  if (slot < 0 || node.inputs[slot].link == null) return null;
  return node.getInputNode?.(slot) ?? null;
}

/** The pad's picture for `node`: `{key, url()}` (same key = same picture), or null when none is known.
 * `lastPreview`: the node's last preview payload (nodes/previews.py), or undefined. */
export function promptImageSource(node, lastPreview) {
  const upstream = upstreamNode(node);
  const picked = upstream && findWidget(upstream, IMAGE_INPUT)?.value;
  if (typeof picked === "string" && picked) {
    const file = pickedFile(picked);
    return { key: `file:${JSON.stringify(file)}`, url: () => viewUrl(file) };
  }
  const shown = upstream?.imgs?.[upstream.imageIndex ?? 0]?.src;
  if (shown) return { key: `url:${shown}`, url: () => shown };
  const ran = lastPreview?.before ?? lastPreview?.image;
  if (ran) return { key: `run:${JSON.stringify(ran)}`, url: () => viewUrl(ran) };
  return null;
}
