import { describe, expect, it } from 'vitest';
import type { LogsConfigurationPolicy } from '../../src/api/generated/types.js';
import { logViewFor, type PolicyLogLine } from '../../src/privacy/log-policy.js';

const OWNER = '111111111111';
const PARTNER = '222222222222';
const OUTSIDER = '333333333333';

function line(stream: 'stdout' | 'stderr', text: string): PolicyLogLine {
  return { text, stream, time: new Date('2024-01-01T00:00:00Z'), host: 'algo-1' };
}

/** A training run's output as the owner stores it, in order. */
const RUN: PolicyLogLine[] = [
  line('stdout', 'epoch 1/3 loss=0.6931 patient_4411 batch 12'),
  line('stderr', 'INFO reading channel train: 1200 rows'),
  line('stderr', 'WARNING low memory: 512 MB free'),
  line('stderr', 'ERROR failed to parse row 17 for patient_4411: value -3.5e2'),
  line('stderr', 'DEBUG ERROR handler armed at 0x7ffd'),
  line('stderr', 'Traceback (most recent call last):'),
  line('stderr', '  File "/opt/ml/code/train.py", line 42, in <module>'),
  line('stderr', "ValueError: could not convert 'patient_77' at row 1,024"),
  line('stdout', 'ERRORS=0 in 3 epochs'),
  line('stdout', 'job ERROR_RATE 0.01'),
];

const SUMMARY_POLICY: LogsConfigurationPolicy = {
  allowedAccountIds: [PARTNER],
  logType: 'ERROR_SUMMARY',
  filterPattern: '?ERROR ?Traceback ?ValueError -DEBUG',
  logRedactionConfiguration: {
    entitiesToRedact: ['NUMBERS', 'CUSTOM'],
    customEntityConfig: { customDataIdentifiers: ['patient_[0-9]+'] },
  },
};

function seen(policies: LogsConfigurationPolicy[] | undefined, account: string, lines = RUN): string[] | undefined {
  const view = logViewFor(policies, account);
  if (!view) return undefined;
  return lines.map((l) => view.apply(l)).filter((t): t is string => t !== undefined);
}

describe('logViewFor', () => {
  it('shows an allowed account exactly the error summary lines that pass the filter, redacted, with no digit left', () => {
    const lines = seen([SUMMARY_POLICY], PARTNER)!;
    expect(lines).toEqual([
      'ERROR failed to parse row <NUMBER> for <CUSTOM>: value <NUMBER>',
      'Traceback (most recent call last):',
      "ValueError: could not convert '<CUSTOM>' at row <NUMBER>",
    ]);
    for (const l of lines) expect(l).not.toMatch(/\p{N}/u);
  });

  it('gives an account named in no policy no view at all', () => {
    expect(logViewFor([SUMMARY_POLICY], OUTSIDER)).toBeUndefined();
    expect(logViewFor([SUMMARY_POLICY], OWNER)).toBeUndefined();
    expect(logViewFor(undefined, PARTNER)).toBeUndefined();
    expect(logViewFor([], PARTNER)).toBeUndefined();
  });

  it('shows every line unchanged under ALL with no filter and no redaction', () => {
    expect(seen([{ allowedAccountIds: [PARTNER] }], PARTNER)).toEqual(RUN.map((l) => l.text));
    expect(seen([{ allowedAccountIds: [PARTNER], logType: 'ALL', filterPattern: '' }], PARTNER)).toEqual(RUN.map((l) => l.text));
  });

  it('applies a filter pattern under ALL to every line, on either stream', () => {
    expect(seen([{ allowedAccountIds: [PARTNER], filterPattern: 'epoch' }], PARTNER)).toEqual([
      'epoch 1/3 loss=0.6931 patient_4411 batch 12',
    ]);
    expect(seen([{ allowedAccountIds: [PARTNER], filterPattern: 'rows' }], PARTNER)).toEqual([
      'INFO reading channel train: 1200 rows',
    ]);
  });

  it('filters on the original text, before redaction', () => {
    const policy: LogsConfigurationPolicy = {
      allowedAccountIds: [PARTNER],
      filterPattern: '"row 17"',
      logRedactionConfiguration: { entitiesToRedact: ['NUMBERS'] },
    };
    expect(seen([policy], PARTNER)).toEqual(['ERROR failed to parse row <NUMBER> for patient_<NUMBER>: value <NUMBER>']);
  });

  it('unites several policies for one account, each line rendered by the first policy that admits it', () => {
    const policies: LogsConfigurationPolicy[] = [
      { allowedAccountIds: [OUTSIDER, PARTNER], logType: 'ERROR_SUMMARY', logRedactionConfiguration: { entitiesToRedact: ['NUMBERS'] } },
      { allowedAccountIds: [PARTNER], logType: 'ALL', filterPattern: 'epoch' },
    ];
    const lines = [
      line('stdout', 'epoch 2 loss 0.5'),
      line('stderr', 'epoch 2 ERROR nan loss at step 300'),
      line('stderr', 'RuntimeError: CUDA out of memory, tried 2 GiB'),
      line('stdout', 'saving checkpoint 2'),
    ];
    expect(seen(policies, PARTNER, lines)).toEqual([
      'epoch 2 loss 0.5',
      'epoch <NUMBER> ERROR nan loss at step <NUMBER>',
      'RuntimeError: CUDA out of memory, tried <NUMBER> GiB',
    ]);
    // The other account of the first policy gets only what that policy admits.
    expect(seen(policies, OUTSIDER, lines)).toEqual([
      'epoch <NUMBER> ERROR nan loss at step <NUMBER>',
      'RuntimeError: CUDA out of memory, tried <NUMBER> GiB',
    ]);
  });

  it('treats the failure message as part of the error summary, still filtered and redacted', () => {
    const view = logViewFor([SUMMARY_POLICY], PARTNER)!;
    expect(view.applyFailureMessage('ValueError: patient_12 has 3 missing values')).toBe(
      'ValueError: <CUSTOM> has <NUMBER> missing values',
    );
    expect(view.applyFailureMessage('Algorithm exited with code 1')).toBeUndefined();
    const all = logViewFor([{ allowedAccountIds: [PARTNER], logType: 'ERROR_SUMMARY' }], PARTNER)!;
    expect(all.applyFailureMessage('exit code 137')).toBe('exit code 137');
  });

  it('fails closed on a policy it cannot apply (stored before validation): that policy admits nothing', () => {
    const broken: LogsConfigurationPolicy = { allowedAccountIds: [PARTNER], filterPattern: '{ $.level = "ERROR" }' };
    const view = logViewFor([broken], PARTNER)!;
    expect(RUN.map((l) => view.apply(l)).filter(Boolean)).toEqual([]);
    const badCustom: LogsConfigurationPolicy = {
      allowedAccountIds: [PARTNER],
      logRedactionConfiguration: { entitiesToRedact: ['CUSTOM'] },
    };
    expect(seen([badCustom, { allowedAccountIds: [PARTNER], filterPattern: 'Traceback' }], PARTNER)).toEqual([
      'Traceback (most recent call last):',
    ]);
  });
});
