import { describe, expect, it } from 'vitest';
import {
  compileFilterPattern,
  InvalidFilterPatternError,
  UnsupportedFilterPatternError,
} from '../../src/privacy/filter-pattern.js';

const LINES = [
  '[ERROR 400] BAD REQUEST',
  '[ERROR 401] UNAUTHORIZED REQUEST',
  '[ERROR 419] MISSING ARGUMENTS',
  '[WARN 200] OK but slow',
  '[SUCCESS 200] AUTHORIZED REQUEST',
  'error: lower-case error',
  'ERRORS=0',
  'java.lang.NullPointerException at Train.main',
];

function matching(pattern: string): string[] {
  const m = compileFilterPattern(pattern);
  return LINES.filter((l) => m(l));
}

describe('compileFilterPattern (CloudWatch Logs semantics for unstructured lines)', () => {
  it('matches every line when the pattern is empty, blank or an empty phrase', () => {
    expect(matching('')).toEqual(LINES);
    expect(matching('   ')).toEqual(LINES);
    expect(matching('""')).toEqual(LINES);
    expect(compileFilterPattern(undefined)('anything')).toBe(true);
  });

  it('matches a single term case-sensitively and as a whole word', () => {
    expect(matching('ERROR')).toEqual(LINES.slice(0, 3));
    expect(matching('error')).toEqual(['error: lower-case error']);
    expect(matching('AUTHORIZED')).toEqual(['[SUCCESS 200] AUTHORIZED REQUEST']);
    expect(matching('Exception')).toEqual([]);
  });

  it('needs every plain term (AND)', () => {
    expect(matching('ERROR REQUEST')).toEqual(LINES.slice(0, 2));
    expect(matching('REQUEST ERROR BAD')).toEqual(['[ERROR 400] BAD REQUEST']);
  });

  it('needs one of the ? terms (OR)', () => {
    expect(matching('?ARGUMENTS ?AUTHORIZED')).toEqual(['[ERROR 419] MISSING ARGUMENTS', '[SUCCESS 200] AUTHORIZED REQUEST']);
  });

  it('drops lines with a - term', () => {
    expect(matching('ERROR -BAD')).toEqual(['[ERROR 401] UNAUTHORIZED REQUEST', '[ERROR 419] MISSING ARGUMENTS']);
    expect(matching('-ERROR -error -ERRORS=0')).toEqual(['[WARN 200] OK but slow', '[SUCCESS 200] AUTHORIZED REQUEST', 'java.lang.NullPointerException at Train.main']);
  });

  it('combines plain, ? and - terms', () => {
    expect(matching('REQUEST ?ERROR ?SUCCESS -BAD')).toEqual(['[ERROR 401] UNAUTHORIZED REQUEST', '[SUCCESS 200] AUTHORIZED REQUEST']);
  });

  it('matches quoted exact phrases, including non-alphanumeric characters and escaped quotes', () => {
    expect(matching('"ERROR 401"')).toEqual(['[ERROR 401] UNAUTHORIZED REQUEST']);
    expect(matching('"[ERROR"')).toEqual(LINES.slice(0, 3));
    expect(matching('"ERRORS=0"')).toEqual(['ERRORS=0']);
    expect(matching('-"ERROR 4"')).toHaveLength(LINES.length);
    expect(compileFilterPattern('"say \\"hi\\""')('they say "hi" twice')).toBe(true);
    expect(compileFilterPattern('?"OK but" ?"not there"')('[WARN 200] OK but slow')).toBe(true);
  });

  it('searches with a %regex% pattern anywhere in the line', () => {
    expect(matching('%AUTHORIZED%')).toEqual(['[ERROR 401] UNAUTHORIZED REQUEST', '[SUCCESS 200] AUTHORIZED REQUEST']);
    expect(matching('%ERROR 4[01][0-9]%')).toEqual(LINES.slice(0, 3));
    expect(matching('%^\\[WARN%')).toEqual(['[WARN 200] OK but slow']);
    expect(matching('%Null.*Exception%')).toEqual(['java.lang.NullPointerException at Train.main']);
  });

  it('refuses what CloudWatch refuses and what the local runner does not support', () => {
    expect(() => compileFilterPattern('%(ERROR|WARN)%')).toThrow(InvalidFilterPatternError);
    expect(() => compileFilterPattern('%[a-%')).toThrow(/does not compile/);
    expect(() => compileFilterPattern('"unclosed')).toThrow(/not closed/);
    expect(() => compileFilterPattern('{ $.level = "ERROR" }')).toThrow(UnsupportedFilterPatternError);
    expect(() => compileFilterPattern('[ip, user, status=4*]')).toThrow(UnsupportedFilterPatternError);
    expect(() => compileFilterPattern(String.raw`%(?=x)%`)).toThrow(InvalidFilterPatternError);
  });

  it('matches a %regex% in time linear in the line (a backtracking engine takes minutes on this one)', () => {
    const t0 = performance.now();
    const m = compileFilterPattern('%a*a*a*a*a*b%');
    expect(m('a'.repeat(3000))).toBe(false);
    expect(m(`${'a'.repeat(100_000)}b`)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
