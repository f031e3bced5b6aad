// The info line under the model list: what the chosen model is (tooltip: all its facts), and a status
// line (download progress, what was loaded).

import { INFO_KEY } from "./names.js";
import { ensureStyle } from "./style.js";
import { addDisplayWidget, findWidget } from "./widgets.js";

const INFO_WIDGET = INFO_KEY; // the widget is named after the loader's ui output it shows

/** The node's info widget, created on first use; `widget.birefnetInfo` has setAbout and setStatus. */
export function infoWidget(node) {
  let widget = findWidget(node, INFO_WIDGET);
  if (widget) return widget;
  ensureStyle();
  const root = document.createElement("div");
  root.className = "birefnet-info";
  root.innerHTML = `<div class="about"></div><div class="status"></div>`;
  widget = addDisplayWidget(node, INFO_WIDGET, root, 46);
  widget.birefnetInfo = {
    setAbout: (text, tooltip) => {
      root.querySelector(".about").textContent = text ?? "";
      root.title = tooltip ?? "";
    },
    setStatus: (text) => (root.querySelector(".status").textContent = text ?? ""),
  };
  return widget;
}

/** Write the status line (empty text clears it). */
export function setInfoStatus(node, text) {
  infoWidget(node).birefnetInfo.setStatus(text);
}
