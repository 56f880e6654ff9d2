import { describe, expect, it } from 'vitest';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { ROLE_ARN, tempService } from '../helpers/fixtures.js';
import { MetricExtractor } from '../../src/runner/metric-extractor.js';

/** Metric definitions at CreateConfiguredModelAlgorithm (contract §7), and the extractor that runs them on RE2. */
describe('metric definitions', () => {
  it('accepts a regex that backtracks exponentially elsewhere, and refuses by name what RE2 cannot run', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    const create = (regex: string) =>
      service.createConfiguredModelAlgorithm({
        name: 'a', roleArn: ROLE_ARN,
        trainingContainerConfig: { imageUri: 'algo:1', metricDefinitions: [{ name: 'ok', regex: 'loss=([0-9.]+)' }, { name: 'm', regex }] },
      });
    await expect(create('(a+)+$')).resolves.toHaveProperty('configuredModelAlgorithmArn');
    await expect(create('loss=(\\d+) \\1')).rejects.toThrow(
      "1 validation error detected: Value 'loss=(\\d+) \\1' at 'trainingContainerConfig.metricDefinitions.2.member.regex' failed to satisfy constraint: " +
        'Member must be a regular expression without backreferences or lookaround (the backreference \\1 is not supported: patterns are matched in linear time (RE2))',
    );
    await expect(create('(?<=val_)loss=(\\d+)')).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('the lookbehind (?<= is not supported') });
    await expect(create('loss=([0-9.]+')).rejects.toThrow(/failed to satisfy constraint: Member must be a valid regular expression \(missing \): loss=\(\[0-9\.\]\+\)$/);
  });

  it('extract with and without the literal prefilter, fast on a line that would stall a backtracking engine', () => {
    const withLiterals = new MetricExtractor([{ name: 'loss', regex: 'loss=([0-9.]+)' }, { name: 'n', regex: 'aaa(a+)+$' }]);
    const without = new MetricExtractor([{ name: 'loss', regex: '(?i)LOSS=([0-9.]+)' }, { name: 'n', regex: '(a+)+$' }]);
    const t0 = performance.now();
    for (const x of [withLiterals, without]) {
      expect(x.extract(`${'a'.repeat(28)}!`)).toEqual([]);
      expect(x.extract(`${'a'.repeat(100_000)}!`)).toEqual([]);
      expect(x.extract('step=1 loss=0.25')).toEqual([{ name: 'loss', value: 0.25 }]);
    }
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
