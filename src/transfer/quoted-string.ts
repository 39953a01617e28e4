/**
 * The RFC 9110 quoted-string that starts at `value[at]` (a `"`): its text, backslash escapes
 * undone, and the index just past its closing quote (the end of `value` when unterminated).
 */
export function readQuotedString(value: string, at: number): { text: string; end: number } {
  let text = '';
  let i = at + 1;
  while (i < value.length && value[i] !== '"') {
    if (value[i] === '\\') i++;
    text += value[i] ?? '';
    i++;
  }
  return { text, end: i + 1 };
}
