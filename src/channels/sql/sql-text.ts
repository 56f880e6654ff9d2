/** Quoting for the few statements we compose ourselves; the user's query is never spliced into these. */
export const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;
export const listLiteral = (items: readonly string[]): string => `[${items.map(quoteLiteral).join(', ')}]`;

/** The engine's message without the node binding's own prefix. */
export function engineMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^Failed to (extract statements|prepare statement|execute prepared statement):\s*/i, '').trim();
}
