/**
 * JSON with comments (VS Code's JSONC, without trailing commas): what a gateway config file may
 * hold. The gateway reads its config with it (src/gateway/template.ts), and so should anything
 * else that reads that file.
 */

/**
 * `text` with its comments replaced by spaces (newlines kept, so JSON.parse's positions still
 * point at the right line and column). Strings are left as they are, `//` in a URL included.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // A string, to its closing quote (a backslash escapes the next character).
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      let j = i;
      while (j < text.length && text[j] !== '\n') j++;
      out += ' '.repeat(j - i);
      i = j;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const j = end < 0 ? text.length : end + 2;
      out += text.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
