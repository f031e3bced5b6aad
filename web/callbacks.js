// Chaining the pack's code after a callback that ComfyUI, LiteGraph or another extension set.

/** Replace `object[name]` by a function that calls the original (if any), then `fn`, with the same
 * `this` and arguments; it returns the original's result. */
export function chainCallback(object, name, fn) {
  const original = object[name];
  object[name] = function (...args) {
    const result = original?.apply(this, args);
    fn.apply(this, args);
    return result;
  };
}
