import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crml, readJunit, REPO, tempFolder } from './check-helpers.js';

const PROBE = 'crml-examples/probe:latest';
/** Tags this file makes (and removes): the probe relabelled as linux/arm64, and the probe under an ECR address. */
const ARM64_PROBE = 'crml-test-check/arm64-probe:latest';
const ECR_PROBE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/crml-test-check/probe:latest';

/** The probe's layers under a config that says linux/arm64 (the busybox inside still runs here). */
function loadArm64Probe(): void {
  const dir = mkdtempSync(join(tmpdir(), 'crml-check-image-'));
  try {
    execFileSync('sh', ['-c', `docker save ${PROBE} | tar -x -C "$1"`, 'sh', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(dir, manifest[0].Config), 'utf8'));
    config.architecture = 'arm64';
    const body = JSON.stringify(config);
    const name = `${createHash('sha256').update(body).digest('hex')}.json`;
    rmSync(join(dir, manifest[0].Config));
    writeFileSync(join(dir, name), body);
    manifest[0].Config = name;
    manifest[0].RepoTags = [ARM64_PROBE];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    rmSync(join(dir, 'repositories'), { force: true });
    execFileSync('sh', ['-c', 'tar -c -C "$1" . | docker load -q', 'sh', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npx crml check …` as both workflow files run it (they must agree), without `npx crml`. */
function workflowCheckCommand(): string[] {
  const commands = ['examples/ci/github-actions.yml', 'examples/ci/gitlab-ci.yml'].map((f) => {
    const line = readFileSync(join(REPO, f), 'utf8')
      .split('\n')
      .find((l) => l.includes('npx crml check '));
    expect(line, `${f} runs crml check`).toBeDefined();
    return line!.slice(line!.indexOf('npx crml check ') + 'npx crml '.length).replace(/\s*\|\|.*$/, '').trim();
  });
  expect(commands[1]).toBe(commands[0]);
  return commands[0]!.split(/\s+/);
}

beforeAll(() => {
  execFileSync('docker', ['image', 'inspect', PROBE], { stdio: 'ignore' });
  loadArm64Probe();
  execFileSync('docker', ['tag', PROBE, ECR_PROBE]);
});

afterAll(() => {
  // Only this file's tags: the probe itself stays.
  execFileSync('docker', ['rmi', ARM64_PROBE, ECR_PROBE], { stdio: 'ignore' });
});

describe('crml check with a real engine', () => {
  it('passes the example spec (a learning-rate grid on linear-regression) as the CI workflows run it, and its JUnit XML says so', async () => {
    using t = tempFolder();
    // The command the workflow files run, with the report written here instead of into the repository.
    const args = workflowCheckCommand();
    const at = args.indexOf('--junit');
    expect(args.slice(0, at)).toEqual(['check', 'examples/ci/check.yaml']);
    const junit = join(t.dir, 'reports', 'check.xml');
    args[at + 1] = junit;
    const r = await crml(args);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const table = r.stdout.split('\n');
    expect(table[0]).toMatch(/^RESULT\s+CASE\s+STATUS\s+TIME\s+REASON$/);
    expect(table).toEqual(expect.arrayContaining([expect.stringMatching(/^PASS\s+converges\[learning_rate=0\.05\]\s+ACTIVE\s+\d+\.\ds$/)]));
    expect(table).toEqual(expect.arrayContaining([expect.stringMatching(/^PASS\s+refuses a bad learning rate\s+CREATE_FAILED ALGORITHM_ERROR\s+\d+\.\ds$/)]));
    expect(r.stdout).toContain('3 cases: 3 passed, 0 failed, 0 could not run; 1 warning');

    const xml = await readJunit(junit);
    expect([xml.tests, xml.failures, xml.errors]).toEqual([3, 0, 0]);
    expect(xml.suites).toHaveLength(1);
    const [suite] = xml.suites;
    expect(suite!.name).toBe('linear-regression');
    expect(suite!.cases.map((c) => c.name)).toEqual(['converges[learning_rate=0.05]', 'converges[learning_rate=0.1]', 'refuses a bad learning rate']);
    const first = suite!.cases[0]!;
    expect(first.results).toEqual([]);
    expect(first.systemOut).toContain('algo-1 stdout epoch=20 train_loss=');
    const props = new Map(first.properties);
    expect(props.get('status')).toBe('ACTIVE');
    expect(Number(props.get('metric.train:loss.algo-1'))).toBeLessThan(0.05);
    expect(props.get('warning')).toMatch(/^the image crml-examples\/linear-regression:latest is not in ECR/);
  }, 300_000);

  it('fails on a run that misses its expectations, errs on one that could not run, and names every reason', async () => {
    using t = tempFolder();
    mkdirSync(join(t.dir, 'data'));
    writeFileSync(join(t.dir, 'data', 'rows.csv'), '1,2\n');
    const spec = t.write(
      'probe.yaml',
      `name: probe-outcomes
defaults:
  image: ${PROBE}
  channels: { train: data }
  metricDefinitions: [{ name: loss, regex: "loss=([0-9.]+)" }]
cases:
  - name: passes
    hyperparameters: { print_text: "loss=0.25 \\e[31mred\\e[0m" }
    expect:
      metrics: { loss: { below: 0.5 } }
      modelFiles: [model.txt]
      logLines: ["loss=0.25", { regex: "^loss=\\\\d" }]
  - name: exits 3
    hyperparameters: { exit_code: 3, failure_text: "it broke" }
  - name: misses its bound
    hyperparameters: { print_text: "loss=0.75" }
    expect:
      metrics: { loss: { between: [0, 0.5] } }
      modelFiles: [model.txt, weights.bin]
      logLines: [{ regex: "^epoch=\\\\d+" }]
  - name: image missing
    image: 127.0.0.1:1/crml-test-check/missing:latest
  - name: refused by the API
    hyperparameters: { note: "a\\0b" }
`,
    );
    const junit = join(t.dir, 'check.xml');
    const r = await crml(['check', spec, '--junit', junit, '--parallel', '2']);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(1);
    const out = r.stdout;
    expect(out).toMatch(/^PASS\s+passes\s+ACTIVE/m);
    expect(out).toMatch(/^FAIL\s+exits 3\s+CREATE_FAILED ALGORITHM_ERROR\s+\S+\s+status is CREATE_FAILED \(ALGORITHM_ERROR: it broke\), expected ACTIVE$/m);
    expect(out).toMatch(/^FAIL\s+misses its bound\s+ACTIVE\s+\S+\s+final loss on algo-1 is 0\.75, not between 0 and 0\.5$/m);
    expect(out).toMatch(/^\s+model\.tar\.gz has no weights\.bin \(it holds .*model\.txt.*\)$/m);
    expect(out).toMatch(/^\s+no log line matched \/\^epoch=\\d\+\/ \(1 line\)$/m);
    expect(out).toMatch(/^ERROR\s+image missing\s+CREATE_FAILED IMAGE_PULL_FAILED\s+\S+\s+could not run: IMAGE_PULL_FAILED: .*127\.0\.0\.1:1\/crml-test-check\/missing:latest/m);
    expect(out).toMatch(/^ERROR\s+refused by the API\s+-\s+\S+\s+could not start: ValidationException: .*hyperparameters/m);
    expect(out).toContain('5 cases: 1 passed, 2 failed, 2 could not run');

    const xml = await readJunit(junit);
    expect([xml.tests, xml.failures, xml.errors]).toEqual([5, 2, 2]);
    const cases = new Map(xml.suites[0]!.cases.map((c) => [c.name, c]));
    expect(cases.get('passes')!.results).toEqual([]);
    // A container's control characters cannot break the report: they are written out.
    expect(cases.get('passes')!.systemOut).toContain('algo-1 stdout loss=0.25 \\u001b[31mred\\u001b[0m');
    expect(cases.get('exits 3')!.results).toEqual([
      { kind: 'Failure', type: 'ExpectationFailed', message: 'status is CREATE_FAILED (ALGORITHM_ERROR: it broke), expected ACTIVE', text: 'status is CREATE_FAILED (ALGORITHM_ERROR: it broke), expected ACTIVE' },
    ]);
    const bound = cases.get('misses its bound')!.results[0]!;
    expect(bound.kind).toBe('Failure');
    expect(bound.message).toContain('final loss on algo-1 is 0.75, not between 0 and 0.5; model.tar.gz has no weights.bin');
    expect(bound.text!.split('\n')).toHaveLength(3);
    const missing = cases.get('image missing')!.results[0]!;
    expect([missing.kind, missing.type]).toEqual(['Error', 'CouldNotRun']);
    expect(missing.message).toMatch(/^could not run: IMAGE_PULL_FAILED: /);
    expect(cases.get('refused by the API')!.results[0]).toMatchObject({ kind: 'Error', type: 'CouldNotRun' });
    expect(cases.get('refused by the API')!.results[0]!.message).toMatch(/^could not start: ValidationException: /);
  }, 300_000);

  it('warns where a green run here would not be green on AWS: platform, image source, a metric that never matched', async () => {
    using t = tempFolder();
    mkdirSync(join(t.dir, 'data'));
    writeFileSync(join(t.dir, 'data', 'rows.csv'), '1,2\n');
    const spec = t.write(
      'warnings.yaml',
      `defaults:
  channels: { train: data }
  hyperparameters: { print_text: "accuracy=0.9" }
  metricDefinitions: [{ name: accuracy, regex: "accuracy=([0-9.]+)" }, { name: loss, regex: "loss=([0-9.]+)" }]
cases:
  - name: arm64
    image: ${ARM64_PROBE}
  - name: from ECR
    image: ${ECR_PROBE}
`,
    );
    const junit = join(t.dir, 'check.xml');
    const r = await crml(['check', spec, '--junit', junit]);
    expect(r.code).toBe(0);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('  warning: '));
    expect(warnings.sort()).toEqual([
      `  warning: the image ${ARM64_PROBE} is linux/arm64: Clean Rooms ML runs training containers on linux/amd64 instances (arm64)`,
      `  warning: the image ${ARM64_PROBE} is not in ECR (<account>.dkr.ecr.<region>.amazonaws.com/…): Clean Rooms ML pulls training images only from ECR (arm64)`,
      '  warning: the metric definition loss (loss=([0-9.]+)) matched no log line with a number: the service would report no loss either (every case)',
    ]);
    expect(r.stdout).toContain('2 cases: 2 passed, 0 failed, 0 could not run; 3 warnings');

    const xml = await readJunit(junit);
    expect([xml.tests, xml.failures, xml.errors]).toEqual([2, 0, 0]);
    const [arm64, ecr] = xml.suites[0]!.cases;
    expect(arm64!.systemErr!.split('\n')).toEqual([
      `warning: the image ${ARM64_PROBE} is not in ECR (<account>.dkr.ecr.<region>.amazonaws.com/…): Clean Rooms ML pulls training images only from ECR`,
      `warning: the image ${ARM64_PROBE} is linux/arm64: Clean Rooms ML runs training containers on linux/amd64 instances`,
      'warning: the metric definition loss (loss=([0-9.]+)) matched no log line with a number: the service would report no loss either',
    ]);
    expect(arm64!.properties.filter(([k]) => k === 'warning')).toHaveLength(3);
    expect(ecr!.properties.filter(([k]) => k === 'warning').map(([, v]) => v)).toEqual([
      'the metric definition loss (loss=([0-9.]+)) matched no log line with a number: the service would report no loss either',
    ]);
  }, 300_000);

  it('builds a case folder once for all of its grid, and warns that a built image is not in ECR', async () => {
    using t = tempFolder();
    mkdirSync(join(t.dir, 'data'));
    writeFileSync(join(t.dir, 'data', 'rows.csv'), '1,2\n');
    mkdirSync(join(t.dir, 'algo'));
    writeFileSync(join(t.dir, 'algo', 'Dockerfile'), `FROM ${PROBE}\nLABEL crml-test-check=built\n`);
    const spec = t.write(
      'build.yaml',
      `cases:
  - name: built
    build: algo
    channels: { train: data }
    grid: { print_text: [one, two] }
    expect: { modelFiles: [model.txt] }
`,
    );
    const junit = join(t.dir, 'check.xml');
    const r = await crml(['check', spec, '--junit', junit, '--parallel', '2']);
    const xml = await readJunit(junit);
    const images = new Set(xml.suites[0]!.cases.flatMap((c) => c.properties.filter(([k]) => k === 'image').map(([, v]) => v)));
    try {
      expect(r.code).toBe(0);
      expect(r.stderr.match(/build for built\[print_text=\w+\]: Step 1\/2 : FROM/g)).toHaveLength(1);
      expect(r.stdout).toContain(`  warning: the image is built here from ${join(t.dir, 'algo')}: Clean Rooms ML pulls training images only from ECR, so push it there and give its ECR address as imageUri (every case)`);
      expect([xml.tests, xml.failures, xml.errors]).toEqual([2, 0, 0]);
      expect(images.size).toBe(1);
      expect([...images][0]).toMatch(/^crml-build\/algo-[0-9a-f]{8}:latest$/);
    } finally {
      for (const image of images) execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
    }
  }, 300_000);

  it('Ctrl-C cancels the run under way, reports the cases not started, and leaves no container', async () => {
    using t = tempFolder();
    mkdirSync(join(t.dir, 'data'));
    writeFileSync(join(t.dir, 'data', 'rows.csv'), '1,2\n');
    const spec = t.write(
      'interrupt.yaml',
      `defaults:
  image: ${PROBE}
  channels: { train: data }
cases:
  - name: sleeper
    hyperparameters: { sleep_seconds: 120 }
  - name: never started
`,
    );
    const junit = join(t.dir, 'check.xml');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/bin.ts'), 'check', spec, '--junit', junit], {
      cwd: REPO,
      env: { ...process.env, CRML_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('▶ sleeper')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await started;
    // The case's container is running once the probe's sleep shows in the engine's list.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !execFileSync('docker', ['ps', '--no-trunc', '--filter', 'label=crml.trained-model', '--format', '{{.Command}}'], { encoding: 'utf8' }).includes('probe.sh')) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('Interrupted: cancelling the runs under way');
    expect(stdout).toMatch(/^FAIL\s+sleeper\s+INACTIVE/m);
    expect(stdout).toMatch(/^ERROR\s+never started\s+-\s+\S+\s+not run: the check was interrupted$/m);
    const xml = await readJunit(junit);
    expect([xml.tests, xml.failures, xml.errors]).toEqual([2, 1, 1]);
    const arn = new Map(xml.suites[0]!.cases[0]!.properties).get('trainedModelArn');
    expect(arn).toMatch(/^arn:aws:cleanrooms-ml:/);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${arn}`], { encoding: 'utf8' }).trim()).toBe('');
  }, 300_000);

  it("trains on a SQL channel over the spec's workspace", async () => {
    using t = tempFolder();
    const spec = t.write(
      'sql.yaml',
      `workspace: ${join(REPO, 'test/fixtures/tables/workspace.json')}
cases:
  - name: from a query
    image: ${PROBE}
    channels: { train: { sql: "SELECT id, age FROM customers WHERE age > 18" } }
    hyperparameters: { list_channels_to_stdout: true }
    expect:
      logLines: [{ regex: "^channel-file algo-1 train/" }]
`,
    );
    const r = await crml(['check', spec]);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout).toMatch(/^PASS\s+from a query\s+ACTIVE/m);
    expect(r.code).toBe(0);
  }, 300_000);
});
