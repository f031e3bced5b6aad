// The images of a preview payload (nodes/previews.py), fetched from ComfyUI's /view route.

import { api } from "../../scripts/api.js";
import { PREVIEW_KINDS } from "./names.js";

const TINT = [255, 40, 120]; // mask overlay colour
const TINT_ALPHA = 0.55;

/** The /view URL of a payload's file (never cached: the same name may hold a new preview). */
export function viewUrl(file) {
  const params = new URLSearchParams({
    filename: file.filename,
    subfolder: file.subfolder ?? "",
    type: file.type ?? "temp",
    rand: String(Math.random()),
  });
  return api.apiURL(`/view?${params}`);
}

export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`could not load ${url}`));
    image.src = url;
  });
}

/** Blend the tint into RGBA `pixels` where the mask (red channel of `maskPixels`) is foreground. */
function tintPixels(pixels, maskPixels) {
  for (let i = 0; i < pixels.length; i += 4) {
    const a = (maskPixels[i] / 255) * TINT_ALPHA;
    pixels[i] += (TINT[0] - pixels[i]) * a;
    pixels[i + 1] += (TINT[1] - pixels[i + 1]) * a;
    pixels[i + 2] += (TINT[2] - pixels[i + 2]) * a;
  }
}

/** The image with the mask tinted over it, as an object URL (mask 1 = foreground is tinted). */
async function tintedOverlay(image, mask) {
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(mask, 0, 0, canvas.width, canvas.height);
  const maskPixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  context.drawImage(image, 0, 0);
  const picture = context.getImageData(0, 0, canvas.width, canvas.height);
  tintPixels(picture.data, maskPixels);
  context.putImageData(picture, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return URL.createObjectURL(blob);
}

/** Cut-out: the result, compared with the original. */
async function loadCutout(payload) {
  const afterUrl = viewUrl(payload.after);
  const beforeUrl = viewUrl(payload.before);
  const image = await loadImage(afterUrl);
  return { afterUrl, beforeUrl, size: [image.naturalWidth, image.naturalHeight], objectUrl: null };
}

/** Mask: tinted over its image and compared with it, or the mask alone when there is no image. */
async function loadMask(payload) {
  const mask = await loadImage(viewUrl(payload.mask));
  const size = [mask.naturalWidth, mask.naturalHeight];
  if (!payload.image) return { afterUrl: mask.src, beforeUrl: null, size, objectUrl: null };
  const beforeUrl = viewUrl(payload.image);
  const image = await loadImage(beforeUrl);
  const objectUrl = await tintedOverlay(image, mask);
  return { afterUrl: objectUrl, beforeUrl, size, objectUrl };
}

/** What to show for a payload: `{afterUrl, beforeUrl (null: nothing to compare), size, objectUrl}`;
 * `objectUrl` is the tinted overlay's, for the caller to revoke once replaced. */
export function loadPreviewImages(payload) {
  return payload.kind === PREVIEW_KINDS.CUTOUT ? loadCutout(payload) : loadMask(payload);
}
