/** HTML helpers shared by report.html and the kernel's rich displays; no dependencies. */

/** Escapes `&`, `<`, `>`, `"` and `'`, so the result is safe in text and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
