// Where the image sits in the drawing pad, and which image pixel a pointer position is over.
// Pad coordinates are the pad element's own CSS pixels (before the canvas zoom's transform); image
// coordinates are pixels of the original image (x right, y down). No DOM and no ComfyUI here.

/** The image `[width, height]` fitted (aspect kept, centred, letterboxed) into a pad of `padWidth` x
 * `padHeight`: `{left, top, width, height, scale}` in pad pixels (scale = pad pixels per image pixel). */
export function fitImage(padWidth, padHeight, [imageWidth, imageHeight]) {
  const scale = Math.min(padWidth / imageWidth, padHeight / imageHeight);
  const width = imageWidth * scale;
  const height = imageHeight * scale;
  return { left: (padWidth - width) / 2, top: (padHeight - height) / 2, width, height, scale };
}

/** Image coordinates (continuous, not clamped) of pad position `[u, v]`. */
export function padToImage(fit, [u, v]) {
  return [(u - fit.left) / fit.scale, (v - fit.top) / fit.scale];
}

/** Pad position of image coordinates `[x, y]`. */
export function imageToPad(fit, [x, y]) {
  return [fit.left + x * fit.scale, fit.top + y * fit.scale];
}

/** The pixel `[x, y]` under image coordinates `[x, y]`, or null when they fall outside the image. */
export function pixelAt([x, y], [imageWidth, imageHeight]) {
  const px = Math.floor(x);
  const py = Math.floor(y);
  return px >= 0 && py >= 0 && px < imageWidth && py < imageHeight ? [px, py] : null;
}

const clamp = (value, high) => Math.min(high, Math.max(0, value));

/** The box `[x0, y0, x1, y1]` (pixel edges, x1/y1 exclusive) dragged between image coordinates `a` and
 * `b`: each edge rounded to the nearest pixel edge and clamped to the image; null when it holds no pixel. */
export function boxBetween(a, b, [imageWidth, imageHeight]) {
  const x0 = clamp(Math.round(Math.min(a[0], b[0])), imageWidth);
  const x1 = clamp(Math.round(Math.max(a[0], b[0])), imageWidth);
  const y0 = clamp(Math.round(Math.min(a[1], b[1])), imageHeight);
  const y1 = clamp(Math.round(Math.max(a[1], b[1])), imageHeight);
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
}
