/**
 * A safe `Content-Disposition: attachment` value (RFC 6266): an ASCII fallback with quotes,
 * backslashes and control characters replaced, and the exact name as RFC 5987 `filename*`,
 * so accents survive and nothing in the name can break out of the header.
 */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.normalize('NFKD').replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
