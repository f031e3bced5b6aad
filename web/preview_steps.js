// Stepping through the images of a previewed batch: ‹ › buttons around a "2/5" count at the bottom of the
// preview, or the arrow keys once the preview has been clicked (it takes the keyboard focus).

const TEMPLATE = `<button class="prev" title="Previous image (←)">‹</button><span class="count"></span>
<button class="next" title="Next image (→)">›</button>`;
const KEY_STEPS = { ArrowLeft: -1, ArrowRight: 1 };

/** Add the step bar to the preview element `root`; `onStep(delta)` gets -1 or +1. Returns
 * `update(index, shown, batch)`: image `index` (0-based) of the `shown` ones is on screen, `batch` images
 * ran (more than `shown` when only the first ones were written); the bar hides for a single image. */
export function addStepBar(root, onStep) {
  const bar = document.createElement("div");
  bar.className = "steps";
  bar.hidden = true;
  bar.innerHTML = TEMPLATE;
  root.append(bar);
  const count = bar.querySelector(".count");
  for (const [selector, delta] of [[".prev", -1], [".next", 1]]) {
    const button = bar.querySelector(selector);
    button.addEventListener("pointerdown", (event) => event.stopPropagation()); // not a slider drag
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      onStep(delta);
    });
  }
  root.tabIndex = 0;
  root.addEventListener("pointerdown", () => root.focus({ preventScroll: true }), { capture: true });
  root.addEventListener("keydown", (event) => {
    const delta = KEY_STEPS[event.key];
    if (!delta || bar.hidden) return;
    event.preventDefault();
    event.stopPropagation(); // the canvas's own arrow-key bindings
    onStep(delta);
  });
  return (index, shown, batch) => {
    bar.hidden = shown < 2;
    count.textContent = `${index + 1}/${shown}${batch > shown ? ` of ${batch}` : ""}`;
    count.title = batch > shown ? `The first ${shown} of the batch's ${batch} images are previewed.` : "";
  };
}
