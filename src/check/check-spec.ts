import { z } from 'zod';
import { InstanceTypeSchema, TrainingInputModeSchema } from '../api/generated/schemas.js';

/**
 * What a `crml check` spec file may hold (YAML or JSON). Every schema says in its own error what it accepts, so
 * that a mistake is reported as `cases[1].expect.metrics.loss.below: expected a number, got 'low'`.
 */

/** An object with these fields only; an unknown field is named along with the accepted ones. */
function fields<S extends z.ZodRawShape>(shape: S) {
  const accepted = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (accepted: ${accepted})`
        : `expected an object with the fields ${accepted}`,
  });
}

const text = (what = 'a non-empty string') => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const positiveWhole = (what: string) =>
  z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).positive({ error: `expected ${what}` });
const finite = z.number({ error: 'expected a number' }).refine(Number.isFinite, { error: 'expected a finite number' });
const textMap = (what: string) => z.record(z.string(), z.string({ error: `expected ${what}` }), { error: 'expected a map of names to strings' });

/** Hyperparameters are strings to the API; a YAML number or boolean is taken as written (`epochs: 10` → "10"). */
const hyperparameterValue = z
  .union([z.string(), finite, z.boolean()], { error: 'expected a string, number or boolean' })
  .transform((v) => String(v));

const channel = z.union(
  [
    text(),
    fields({ path: text('a path') }),
    fields({ sql: text('a SQL query'), resultFormat: z.enum(['CSV', 'PARQUET'], { error: 'expected CSV or PARQUET' }).optional() }),
  ],
  { error: "expected a path (relative to the spec's folder), { path }, or { sql, resultFormat? }" },
);

const build = z.union([text('a folder'), fields({ context: text('a folder'), dockerfile: text('a path').optional(), buildArgs: textMap('a string').optional() })], {
  error: "expected a folder to build (relative to the spec's folder) or { context, dockerfile?, buildArgs? }",
});

/** How a case's run can end (INACTIVE: it was cancelled). */
export const FINAL_STATUSES = ['ACTIVE', 'CREATE_FAILED', 'INACTIVE'] as const;

const bound = fields({
  below: finite.optional(),
  above: finite.optional(),
  between: z
    .tuple([finite, finite], { error: 'expected [low, high]' })
    .refine(([lo, hi]) => lo <= hi, { error: 'expected [low, high] with low <= high' })
    .optional(),
}).refine((b) => b.below !== undefined || b.above !== undefined || b.between !== undefined, {
  error: 'expected below, above or between',
}).refine((b) => b.between === undefined || (b.below === undefined && b.above === undefined), {
  error: 'between cannot be combined with below or above',
});

const logLine = z.union([text(), fields({ regex: text('a regular expression') }), fields({ contains: text() })], {
  error: 'expected a substring, { contains } or { regex } (RE2 syntax)',
});

export const ExpectationsSchema = fields({
  /** Default ACTIVE, or CREATE_FAILED when a statusCode is expected. */
  status: z.enum(FINAL_STATUSES, { error: `expected one of ${FINAL_STATUSES.join(', ')}` }).optional(),
  statusCode: text('a status code such as ALGORITHM_ERROR').optional(),
  /** A substring of the status message. */
  statusMessage: text().optional(),
  /** Final value of each metric (on every host that reported it). */
  metrics: z.record(z.string(), bound, { error: 'expected a map of metric names to { below | above | between }' }).optional(),
  maxDurationSeconds: finite.refine((v) => v > 0, { error: 'expected a number above 0' }).optional(),
  /** Paths inside model.tar.gz. */
  modelFiles: z.array(text('a path inside model.tar.gz'), { error: 'expected a list of paths inside model.tar.gz' }).optional(),
  logLines: z.array(logLine, { error: 'expected a list of substrings, { contains } or { regex }' }).optional(),
});

/** What a case and the spec's `defaults` may give. */
const caseFields = {
  image: text('an image URI').optional(),
  build: build.optional(),
  channels: z.record(z.string(), channel, { error: 'expected a map of channel names to paths or { sql }' }).optional(),
  hyperparameters: z.record(z.string(), hyperparameterValue, { error: 'expected a map of names to values' }).optional(),
  /** name → values: one case per combination. */
  grid: z
    .record(z.string(), z.array(hyperparameterValue, { error: 'expected a list of values' }).min(1, { error: 'expected at least one value' }), {
      error: 'expected a map of hyperparameter names to lists of values',
    })
    .optional(),
  environment: textMap('a string').optional(),
  instanceType: z.enum(InstanceTypeSchema().options, { error: 'expected an instance type such as ml.m5.large' }).optional(),
  instanceCount: positiveWhole('a whole number from 1').optional(),
  inputMode: z.enum(TrainingInputModeSchema().options, { error: `expected one of ${TrainingInputModeSchema().options.join(', ')}` }).optional(),
  maxRuntimeInSeconds: positiveWhole('a whole number of seconds from 1').optional(),
  volumeSizeInGB: positiveWhole('a whole number of GB from 1').optional(),
  metricDefinitions: z
    .array(fields({ name: text('a metric name'), regex: text('a regular expression') }), { error: 'expected a list of { name, regex }' })
    .optional(),
  entrypoint: z.array(z.string({ error: 'expected a string' }), { error: 'expected a list of strings' }).optional(),
  arguments: z.array(z.string({ error: 'expected a string' }), { error: 'expected a list of strings' }).optional(),
  expect: ExpectationsSchema.optional(),
};

export const CaseSchema = fields({ name: text('a case name').optional(), ...caseFields });

export const CheckSpecSchema = fields({
  /** The JUnit test suite's name; default the spec file's name. */
  name: text('a name').optional(),
  /** A workspace file for SQL channels (relative to the spec's folder). */
  workspace: text('a path').optional(),
  defaults: fields(caseFields).optional(),
  cases: z.array(CaseSchema, { error: 'expected a list of cases' }).min(1, { error: 'expected at least one case' }),
});

export type CheckSpecFile = z.infer<typeof CheckSpecSchema>;
export type CaseSpec = z.infer<typeof CaseSchema>;
export type Expectations = z.infer<typeof ExpectationsSchema>;
export type MetricBound = z.infer<typeof bound>;
export type LogLineExpectation = z.infer<typeof logLine>;
export type ChannelSpec = z.infer<typeof channel>;
