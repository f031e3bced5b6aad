// The text formats of the `box` and `points` widgets (the same formats the library parses:
// birefnet/inference/prompts.py parse_boxes / parse_points). Pixels of the original image, 0-based,
// x to the right, y down; box edges x1/y1 are exclusive. No DOM and no ComfyUI here.
//
//   box:    "x0,y0,x1,y1"            several boxes separated by ";"
//   points: "x,y;+x,y;-x,y"          "x,y" and "+x,y" keep an object, "-x,y" removes one
// Whitespace around items and numbers is ignored; an empty text means none. Box edges may be negative
// or beyond the image (the node clips the box to the image); points are whole numbers >= 0.

const EDGE = String.raw`\s*([+-]?\d+)\s*`;
const BOX_ITEM = new RegExp(`^${[EDGE, EDGE, EDGE, EDGE].join(",")}$`);
const POINT_ITEM = /^\s*([+-]?)\s*(\d+)\s*,\s*(\d+)\s*$/;

/** The non-empty `;`-separated items of `text`, trimmed. */
function items(text) {
  return String(text ?? "")
    .split(";")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** Boxes of a `box` text: `{boxes: [[x0, y0, x1, y1], ...], bad: [item, ...]}`; an item that is not four
 * whole numbers, or whose x1 <= x0 or y1 <= y0, goes to `bad` (the node reports it when it runs). */
export function parseBoxes(text) {
  const boxes = [];
  const bad = [];
  for (const item of items(text)) {
    const match = BOX_ITEM.exec(item);
    const box = match?.slice(1).map(Number);
    if (box && box[2] > box[0] && box[3] > box[1]) boxes.push(box);
    else bad.push(item);
  }
  return { boxes, bad };
}

/** Points of a `points` text: `{positive: [[x, y], ...], negative: [[x, y], ...], bad: [item, ...]}`. */
export function parsePoints(text) {
  const positive = [];
  const negative = [];
  const bad = [];
  for (const item of items(text)) {
    const match = POINT_ITEM.exec(item);
    if (!match) bad.push(item);
    else (match[1] === "-" ? negative : positive).push([Number(match[2]), Number(match[3])]);
  }
  return { positive, negative, bad };
}

/** `box` text of boxes `[[x0, y0, x1, y1], ...]` ("" for none). */
export function formatBoxes(boxes) {
  return boxes.map((box) => box.join(",")).join(";");
}

/** `points` text of positive and negative points `[[x, y], ...]` (positives first; "" for none). */
export function formatPoints(positive, negative) {
  return [...positive.map((p) => p.join(",")), ...negative.map((p) => `-${p.join(",")}`)].join(";");
}
