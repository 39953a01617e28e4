/** UTF-8 JSON of values that never change, kept as long as the value. */
const texts = new WeakMap<object, Buffer>();

/**
 * `JSON.stringify(value)` as UTF-8 bytes, made once per object for frozen values a reply shares
 * with the next one (a listed job at rest): a list of 10,000 jobs copies their bytes instead of
 * serialising and encoding them again. Anything else is serialised every time.
 */
export function jsonBytes(value: object): Buffer {
  if (!Object.isFrozen(value)) return Buffer.from(JSON.stringify(value));
  let bytes = texts.get(value);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(value));
    texts.set(value, bytes);
  }
  return bytes;
}

const COMMA = Buffer.from(',');

/** `{"<name>":[…]}` of `items`, each through jsonBytes: the bytes of JSON.stringify({ [name]: items }). */
export function jsonListBytes(name: string, items: readonly object[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`{${JSON.stringify(name)}:[`)];
  for (let i = 0; i < items.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(jsonBytes(items[i] as object));
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}
