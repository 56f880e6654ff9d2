/**
 * Draws pull progress the way the Docker CLI does on a terminal: one line per layer, redrawn in place as
 * its status changes. Off a terminal it draws nothing (the runner logs each event as a structured log line).
 */
export function pullProgressRenderer(out: NodeJS.WriteStream): (arn: string, p: { id?: string; status: string; progress?: string }) => void {
  if (!out.isTTY) return () => undefined;
  const order: string[] = [];
  const lines = new Map<string, string>();
  let drawn = 0;
  return (_arn, p) => {
    const key = p.id ?? p.status;
    if (!lines.has(key)) order.push(key);
    lines.set(key, p.id ? `${p.id}: ${p.status}${p.progress ? ` ${p.progress}` : ''}` : p.status);
    // Up to the first line drawn, then every line again, each cleared first.
    let frame = drawn > 0 ? `\u001b[${drawn}A` : '';
    for (const k of order) frame += `\u001b[2K${lines.get(k)}\n`;
    out.write(frame);
    drawn = order.length;
  };
}
