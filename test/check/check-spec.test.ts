import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckSpecError, loadCheckSpec } from '../../src/check/load-check-spec.js';
import { crml, REPO, tempFolder } from './check-helpers.js';

async function specError(file: string): Promise<CheckSpecError> {
  const e = await loadCheckSpec(file).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(CheckSpecError);
  return e as CheckSpecError;
}

describe('crml check spec', () => {
  it('expands a grid into one case per combination, named by its values, with paths from the spec folder', async () => {
    using t = tempFolder();
    mkdirSync(join(t.dir, 'data'));
    const file = t.write(
      'grid.yaml',
      `defaults:
  image: crml-examples/probe:latest
  channels: { train: data }
  hyperparameters: { epochs: 3, verbose: true }
cases:
  - name: lr
    grid: { learning_rate: [0.1, 0.01], batch_size: [16, 32] }
  - hyperparameters: { epochs: 5 }
`,
    );
    const suite = await loadCheckSpec(file);
    expect(suite.name).toBe('grid');
    expect(suite.cases.map((c) => c.name)).toEqual([
      'lr[learning_rate=0.1, batch_size=16]',
      'lr[learning_rate=0.1, batch_size=32]',
      'lr[learning_rate=0.01, batch_size=16]',
      'lr[learning_rate=0.01, batch_size=32]',
      'case 2',
    ]);
    expect(suite.cases[1]!.training.hyperparameters).toEqual({ epochs: '3', verbose: 'true', learning_rate: '0.1', batch_size: '32' });
    expect(suite.cases[4]!.training.hyperparameters).toEqual({ epochs: '5', verbose: 'true' }); // maps merge over the defaults
    expect(suite.cases[0]!.training.channels).toEqual({ train: join(t.dir, 'data') });
    expect(suite.cases[0]!.expect.status).toBe('ACTIVE');
  });

  it('expects CREATE_FAILED when only a status code is given', async () => {
    using t = tempFolder();
    const file = t.write('fail.json', JSON.stringify({ cases: [{ image: 'x:1', expect: { statusCode: 'ALGORITHM_ERROR' } }] }));
    const [c] = (await loadCheckSpec(file)).cases;
    expect(c!.expect).toMatchObject({ status: 'CREATE_FAILED', statusCode: 'ALGORITHM_ERROR' });
  });

  it('names the field and what it accepts for every mistake', async () => {
    using t = tempFolder();
    const e = await specError(
      t.write(
        'bad.yaml',
        `cases:
  - image: x:1
    instanceType: ml.huge
    hyperparameters: { epochs: [3] }
    colour: red
    expect:
      status: DONE
      metrics: { "train:loss": { below: low } }
      logLines: [3]
`,
      ),
    );
    const fields = Object.fromEntries(e.problems.map((p) => [p.field, p.message]));
    expect(fields['cases[0].instanceType']).toBe("expected an instance type such as ml.m5.large, got 'ml.huge'");
    expect(fields['cases[0].hyperparameters.epochs']).toBe('expected a string, number or boolean, got a list');
    expect(fields['cases[0]']).toMatch(/^unknown field 'colour' \(accepted: name, image, build, channels, .*expect\)$/);
    expect(fields['cases[0].expect.status']).toBe("expected one of ACTIVE, CREATE_FAILED, INACTIVE, got 'DONE'");
    expect(fields['cases[0].expect.metrics["train:loss"].below']).toBe("expected a number, got 'low'");
    expect(fields['cases[0].expect.logLines[0]']).toBe('expected a substring, { contains } or { regex } (RE2 syntax), got number 3');
  });

  it('refuses what would only fail later: a missing folder, an undefined metric, a pattern RE2 cannot run, a doubled name', async () => {
    using t = tempFolder();
    const e = await specError(
      t.write(
        'later.yaml',
        `defaults:
  metricDefinitions: [{ name: loss, regex: "loss=(" }]
cases:
  - name: a
    image: x:1
    channels: { train: no-such-folder }
    expect:
      metrics: { accuracy: { above: 0.9 } }
      logLines: [{ regex: "(a)\\\\1" }]
  - name: b
    build: .
    image: x:1
  - name: c
    metricDefinitions: []
  - name: d
    image: x:1
    metricDefinitions: []
    grid: { a: [1, 2] }
  - name: d[a=2]
    image: x:1
    metricDefinitions: []
`,
      ),
    );
    expect(e.problems).toEqual([
      { field: 'cases[0].channels.train', message: `no such file or folder: ${join(t.dir, 'no-such-folder')}` },
      { field: 'defaults.metricDefinitions[0].regex', message: 'expected a valid regular expression (missing ): loss=()' },
      { field: 'cases[0].expect.metrics.accuracy', message: "no metric definition is named 'accuracy' (defined: loss)" },
      {
        field: 'cases[0].expect.logLines[0].regex',
        message: 'expected a regular expression without backreferences or lookaround (the backreference \\1 is not supported: patterns are matched in linear time (RE2))',
      },
      { field: 'cases[1]', message: 'expected an image or a build folder, not both' },
      { field: 'cases[2]', message: 'expected an image or a build folder (here or in defaults)' },
      { field: 'cases[4].name', message: "the case name 'd[a=2]' is used by cases[3] too: give each case its own name" },
    ]);
  });

  it('says what is wrong with a file that is not a spec', async () => {
    using t = tempFolder();
    expect((await specError(join(t.dir, 'none.yaml'))).message).toBe(`${join(t.dir, 'none.yaml')}: cannot read the spec: no such file`);
    expect((await specError(t.write('broken.yaml', 'cases: [\n'))).message).toMatch(/broken\.yaml: not valid YAML: /);
    execFileSync('mkfifo', [join(t.dir, 'fifo.yaml')]);
    expect((await specError(join(t.dir, 'fifo.yaml'))).message).toMatch(/fifo\.yaml: expected a spec file, got a folder or a special file$/);
    expect((await specError(t.write('empty.yaml', 'cases: []\n'))).message).toMatch(/empty\.yaml: cases: expected at least one case, got a list$/);
  });

  it('crml check exits 252 on a bad spec, naming the field, without running anything', async () => {
    using t = tempFolder();
    const file = t.write('bad.yaml', 'cases:\n  - image: crml-examples/probe:latest\n    maxRuntimeInSeconds: -5\n');
    const r = await crml(['check', file]);
    expect(r.code).toBe(252);
    expect(r.stderr).toContain(`crml: ${file}: cases[0].maxRuntimeInSeconds: expected a whole number of seconds from 1, got number -5`);
    expect(r.stdout).toBe('');
    const parallel = await crml(['check', join(REPO, 'examples/ci/check.yaml'), '--parallel', '0']);
    expect(parallel.code).toBe(252);
    expect(parallel.stderr).toContain("crml: --parallel: expected a whole number of 1 or more, got '0'");
    const junit = await crml(['check', join(REPO, 'examples/ci/check.yaml'), '--junit', t.dir]);
    expect([junit.code, junit.stderr.trim()]).toEqual([252, `crml: --junit: ${t.dir} is not a file`]);
  });
});
