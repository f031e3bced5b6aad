// The info line under the model list: what the chosen model is (tooltip: all its facts), and a status
// line (download progress, what was loaded).

import { INFO_KEY } from "./names.js";
import { ensureStyle } from "./style.js";
import { addDisplayWidget, findWidget, growNodeToWidgets } from "./widgets.js";

const INFO_WIDGET = INFO_KEY; // the widget is named after the loader's ui output it shows
const MIN_HEIGHT = 46; // CSS px
// CSS px around the text: .birefnet-info's padding (style.js, 4), the 10 px above and below a DOM widget's
// element that the classic canvas keeps (20), and a pixel to spare.
const TEXT_PADDING = 25;

/** The height the info line's text takes at its present width (CSS px; `fallback` before it is laid out). */
function textHeight(root, fallback) {
  const parts = [...root.children].reduce((sum, part) => sum + part.offsetHeight, 0);
  return parts ? parts + TEXT_PADDING : fallback;
}

/** The node's info widget, created on first use; `widget.birefnetInfo` has setAbout and setStatus. The
 * text wraps (never cut at the node's edge): the widget is as tall as its text, and the node grows when
 * the text needs more room (new text, a narrower node). */
export function infoWidget(node) {
  let widget = findWidget(node, INFO_WIDGET);
  if (widget) return widget;
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-info";
  root.innerHTML = `<div class="about"></div><div class="status"></div>`;
  const [about, status] = root.children;
  widget = addDisplayWidget(node, INFO_WIDGET, root, () => Math.max(MIN_HEIGHT, textHeight(root, MIN_HEIGHT)));
  const observer = new ResizeObserver(() => growNodeToWidgets(node));
  observer.observe(about);
  observer.observe(status);
  widget.birefnetInfo = {
    setAbout: (text, tooltip) => {
      about.textContent = text ?? "";
      root.title = tooltip ?? "";
    },
    setStatus: (text) => (status.textContent = text ?? ""),
  };
  return widget;
}

/** Write the status line (empty text clears it). */
export function setInfoStatus(node, text) {
  infoWidget(node).birefnetInfo.setStatus(text);
}
