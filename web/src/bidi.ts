/**
 * `text` between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE: the `<bdi>` of a string that cannot
 * hold an element (an aria-label, a title, a confirm()). A right-to-left name in it keeps its own order and does not
 * take the words around it into its run.
 */
export function isolated(text: string): string {
  return `\u2068${text}\u2069`;
}
