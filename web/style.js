// The stylesheet of the pack's DOM widgets (preview, prompt pad, info line), added to the page once.

const STYLE_ID = "birefnet-exact-style";
const CHECKER = "#9a9a9a"; // dark tiles of the checkerboard under a cut-out

const CSS = `
.birefnet-preview { position: relative; width: 100%; height: 100%; min-height: 120px; overflow: hidden;
  user-select: none; touch-action: none; cursor: ew-resize; background: #1b1b1b; border-radius: 4px; }
.birefnet-preview .frame { position: absolute; }
.birefnet-preview .checker { position: absolute; inset: 0; background-color: #fff;
  background-image: conic-gradient(${CHECKER} 25%, transparent 0 50%, ${CHECKER} 0 75%, transparent 0);
  background-size: 16px 16px; }
.birefnet-preview img { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
.birefnet-preview .handle { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
  background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
.birefnet-preview .label { position: absolute; top: 4px; font: 11px sans-serif; color: #fff;
  background: rgba(0,0,0,.55); padding: 1px 5px; border-radius: 3px; pointer-events: none; }
.birefnet-preview .label.left { left: 4px; } .birefnet-preview .label.right { right: 4px; }
.birefnet-preview .empty { position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #888; font: 12px sans-serif; }
.birefnet-preview:focus { outline: none; }
.birefnet-preview .steps { position: absolute; bottom: 4px; left: 50%; transform: translateX(-50%);
  display: flex; align-items: center; gap: 2px; font: 11px sans-serif; color: #fff; cursor: default;
  background: rgba(0,0,0,.6); border-radius: 3px; padding: 1px 2px; white-space: nowrap; }
.birefnet-preview .steps button { font: bold 13px/1 sans-serif; color: #fff; background: none; border: 0;
  padding: 1px 6px; cursor: pointer; border-radius: 3px; }
.birefnet-preview .steps button:hover { background: rgba(255,255,255,.2); }
.birefnet-preview [hidden], .birefnet-prompt [hidden] { display: none !important; }
.birefnet-prompt { width: 100%; height: 100%; min-height: 160px; display: flex; flex-direction: column;
  user-select: none; touch-action: none; background: #1b1b1b; border-radius: 4px; overflow: hidden; }
.birefnet-prompt .area { position: relative; flex: 1; min-height: 0; cursor: crosshair; }
.birefnet-prompt canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.birefnet-prompt .empty { position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #888; font: 12px sans-serif; text-align: center; }
.birefnet-prompt .problem { position: absolute; left: 4px; right: 4px; top: 4px; font: 10px sans-serif;
  color: #ffb0b0; background: rgba(0,0,0,.6); padding: 1px 4px; border-radius: 3px; pointer-events: none; }
.birefnet-prompt .bar { flex: none; display: flex; align-items: center; gap: 6px; padding: 2px 4px;
  font: 10px sans-serif; color: #aaa; }
.birefnet-prompt .hint { flex: 1; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.birefnet-prompt .clear { font: 11px sans-serif; color: #fff; background: #333; border: 1px solid #777;
  border-radius: 3px; padding: 0 6px; cursor: pointer; }
.birefnet-info { font: 11px/1.35 sans-serif; color: var(--descrip-text, #aaa); padding: 2px 4px;
  white-space: normal; overflow-wrap: anywhere; overflow: hidden; }
.birefnet-info .status { color: var(--input-text, #ddd); }
`;

export function ensureStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.append(style);
}
