import { describe, expect, it } from 'vitest';
import { compileLogRedaction, InvalidLogRedactionConfigurationError, REDACTION_TOKENS } from '../../src/privacy/log-redaction.js';
import { luhnValid } from '../../src/privacy/entity-detectors.js';

const numbers = compileLogRedaction({ entitiesToRedact: ['NUMBERS'] });
const pii = compileLogRedaction({ entitiesToRedact: ['ALL_PERSONALLY_IDENTIFIABLE_INFORMATION'] });

describe('NUMBERS redaction', () => {
  it.each([
    ['epoch 3/10 loss=0.2345', 'epoch <NUMBER>/<NUMBER> loss=<NUMBER>'],
    ['delta -3.5 and +2', 'delta <NUMBER> and <NUMBER>'],
    ['lr=1e-5 avogadro 6.02E+23', 'lr=<NUMBER> avogadro <NUMBER>'],
    ['rows 1,234,567.89 done', 'rows <NUMBER> done'],
    ['list [1,2,3]', 'list [<NUMBER>,<NUMBER>,<NUMBER>]'],
    ['ratio .5 at 0x7ffd', 'ratio <NUMBER> at <NUMBER>'],
    ['host algo-1 version v1.2.3', 'host algo-<NUMBER> version v<NUMBER>'],
    ['id abc123def', 'id abc<NUMBER>def'],
    ['arabic ١٢٣ fullwidth ４２ superscript x² half ½', 'arabic <NUMBER> fullwidth <NUMBER> superscript x<NUMBER> half <NUMBER>'],
    ['no numbers here', 'no numbers here'],
  ])('%s', (input, expected) => {
    expect(numbers(input)).toBe(expected);
  });

  it('leaves no numeric character in any line', () => {
    // A deterministic mix of digits, signs, separators and letters.
    const alphabet = '0123456789-+.,eExX abc:/_=%()[]١٢٣٤٥٦٧٨٩٠²½ⅫAKIA@';
    let state = 12345;
    const next = (): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state;
    };
    for (let n = 0; n < 2000; n++) {
      let text = '';
      const len = 1 + (next() % 60);
      for (let i = 0; i < len; i++) text += [...alphabet][next() % [...alphabet].length];
      const out = numbers(text);
      expect(out, `input ${JSON.stringify(text)}`).not.toMatch(/\p{N}/u);
    }
  });
});

describe('ALL_PERSONALLY_IDENTIFIABLE_INFORMATION redaction', () => {
  it.each([
    ['mail jane.doe+ml@example.co.uk now', 'mail <EMAIL_ADDRESS> now'],
    ['call (206) 555-0100 today', 'call <PHONE_NUMBER> today'],
    ['call 206-555-0100 or 206.555.0100', 'call <PHONE_NUMBER> or <PHONE_NUMBER>'],
    ['call +1 206 555 0100', 'call <PHONE_NUMBER>'],
    ['call +44 20 7946 0958', 'call <PHONE_NUMBER>'],
    ['card 4111 1111 1111 1111 ok', 'card <CREDIT_CARD_NUMBER> ok'],
    ['card 4111-1111-1111-1111', 'card <CREDIT_CARD_NUMBER>'],
    ['card 5500005555555559', 'card <CREDIT_CARD_NUMBER>'],
    ['amex 3782 822463 10005', 'amex <CREDIT_CARD_NUMBER>'],
    ['ssn 123-45-6789.', 'ssn <US_SSN>.'],
    ['from 10.0.0.12:8080', 'from <IP_ADDRESS>:8080'],
    ['at 192.168.1.1.', 'at <IP_ADDRESS>.'],
    ['v6 2001:db8::8a2e:370:7334 and ::1', 'v6 <IP_ADDRESS> and <IP_ADDRESS>'],
    ['mapped ::ffff:192.168.1.1', 'mapped <IP_ADDRESS>'],
    ['nic 00:1a:2B:3c:4d:5e', 'nic <MAC_ADDRESS>'],
    ['key AKIAIOSFODNN7EXAMPLE used', 'key <AWS_ACCESS_KEY> used'],
  ])('%s', (input, expected) => {
    expect(pii(input)).toBe(expected);
  });

  it.each([
    'version 1.2.3 and 1.2.3.4.5',
    'octets 999.1.1.1 and 01.2.3.4',
    'user@localhost has no domain',
    'date 2024-01-15 time 12:30:45',
    'ten digits 2065550100 without separators',
    'not luhn 4111 1111 1111 1112',
    'ns timestamp 1700000000000000000',
    'ssn-like 000-12-3456 666-12-3456 123-00-4567 123-45-0000',
    'loss 0.123456789 step 1234567890123',
    'std::vector<int> and a::b::c',
    'ratio 3:2:1',
  ])('leaves a near miss alone: %s', (input) => {
    expect(pii(input)).toBe(input);
  });

  it('checks card numbers with Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
  });

  it('writes tokens with no digit in them', () => {
    for (const t of [REDACTION_TOKENS.NUMBERS, REDACTION_TOKENS.CUSTOM, ...REDACTION_TOKENS.ALL_PERSONALLY_IDENTIFIABLE_INFORMATION]) {
      expect(t).toMatch(/^<[A-Z_]+>$/);
    }
  });
});

describe('combined and CUSTOM redaction', () => {
  it('merges overlapping finds into the most specific token', () => {
    const both = compileLogRedaction({ entitiesToRedact: ['NUMBERS', 'ALL_PERSONALLY_IDENTIFIABLE_INFORMATION'] });
    expect(both('user 42 at 10.0.0.1 called 206-555-0100')).toBe('user <NUMBER> at <IP_ADDRESS> called <PHONE_NUMBER>');
  });

  it('redacts every match of every custom identifier, Java-style escapes accepted', () => {
    const custom = compileLogRedaction({
      entitiesToRedact: ['CUSTOM'],
      customEntityConfig: { customDataIdentifiers: ['patient\\_[0-9]+', 'SECRET-[A-Z]{3}'] },
    });
    expect(custom('patient_1 and patient_22 hold SECRET-ABC, not SECRET-AB')).toBe(
      '<CUSTOM> and <CUSTOM> hold <CUSTOM>, not SECRET-AB',
    );
  });

  it('never matches a custom identifier against another token', () => {
    const custom = compileLogRedaction({
      entitiesToRedact: ['NUMBERS', 'CUSTOM'],
      customEntityConfig: { customDataIdentifiers: ['NUMBER'] },
    });
    expect(custom('NUMBER 7')).toBe('<CUSTOM> <NUMBER>');
  });

  it('refuses CUSTOM without identifiers and identifiers without CUSTOM', () => {
    expect(() => compileLogRedaction({ entitiesToRedact: ['CUSTOM'] })).toThrow(InvalidLogRedactionConfigurationError);
    expect(() =>
      compileLogRedaction({ entitiesToRedact: ['NUMBERS'], customEntityConfig: { customDataIdentifiers: ['x'] } }),
    ).toThrow(InvalidLogRedactionConfigurationError);
  });

  it('redacts a 100,000-character adversarial line quickly', () => {
    const all = compileLogRedaction({
      entitiesToRedact: ['NUMBERS', 'ALL_PERSONALLY_IDENTIFIABLE_INFORMATION', 'CUSTOM'],
      customEntityConfig: { customDataIdentifiers: ['id=[0-9a-f]+'] },
    });
    const started = Date.now();
    for (const text of ['+' + '1 '.repeat(50_000), 'a@' + 'a-'.repeat(50_000), 'a:'.repeat(50_000), '1.'.repeat(50_000)]) {
      expect(all(text)).not.toMatch(/\p{N}/u);
    }
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
