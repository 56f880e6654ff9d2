/** The most cases one grid may expand into: more is a mistake in the spec, not a check anyone waits for. */
export const MAX_GRID_COMBINATIONS = 1000;

export interface GridPoint {
  /** The grid's values of this combination, in the grid's order. */
  values: Record<string, string>;
  /** `learning_rate=0.1, epochs=5`: what the case's name carries in brackets. */
  label: string;
}

/** How many cases a grid expands into. */
export function gridSize(grid: Record<string, readonly string[]>): number {
  return Object.values(grid).reduce((n, values) => n * values.length, 1);
}

/**
 * Every combination of the grid's values (name → values), the first name varying slowest, as nested loops
 * written in the grid's order would visit them. An empty grid is one point with no values.
 */
export function expandGrid(grid: Record<string, readonly string[]>): GridPoint[] {
  let points: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(grid)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [name]: v })));
  }
  return points.map((values) => ({
    values,
    label: Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  }));
}
