/**
 * JSON input as Appwrite's PHP reads it: `json_decode` refuses more than 512 levels of nesting.
 * The limit also protects the emulator, whose `JSON.stringify` overflows the stack a few thousand
 * levels down; the depth is measured by a flat scan of the text, never by recursion.
 */
const MAX_DEPTH = 512;

/** Parse JSON text; throws a SyntaxError when it is invalid or nested deeper than 512 levels. */
export function parseJson(text: string): unknown {
  if (nesting(text) > MAX_DEPTH) throw new SyntaxError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  return JSON.parse(text);
}

/** Deepest bracket nesting outside string literals. */
function nesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      deepest = Math.max(deepest, ++depth);
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return deepest;
}
