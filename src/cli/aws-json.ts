/**
 * Prints a response the way the AWS CLI does with `--output json`: four-space indent, timestamps as
 * Python's isoformat() with a +00:00 offset (microseconds only when there are any).
 */
export function formatAwsJson(value: unknown): string {
  return JSON.stringify(withCliTimestamps(value), null, 4);
}

export function withCliTimestamps(value: unknown): unknown {
  if (value instanceof Date) return isoformat(value);
  if (Array.isArray(value)) return value.map(withCliTimestamps);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withCliTimestamps(v)]));
  }
  return value;
}

function isoformat(d: Date): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const ms = d.getUTCMilliseconds();
  return `${iso.slice(0, 19)}${ms ? `.${String(ms).padStart(3, '0')}000` : ''}+00:00`;
}
