/** JSON texts of values that never change, kept as long as the value. */
const texts = new WeakMap<object, string>();

/**
 * `JSON.stringify(value)`, made once per object: for frozen values a reply shares with the next
 * one (a listed job at rest), so a list of 10,000 jobs joins texts instead of serialising them.
 * Anything else is serialised every time.
 */
export function jsonText(value: object): string {
  if (!Object.isFrozen(value)) return JSON.stringify(value);
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}
