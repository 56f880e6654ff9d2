import { isIPv4, isIPv6 } from 'node:net';

/**
 * What each redaction entity finds in a line: spans (start inclusive, end exclusive) of the original text.
 * Detectors never see each other's output, so a replacement token can never be matched again.
 */

export interface Span {
  start: number;
  end: number;
  /** The token that replaces the span, e.g. `<EMAIL_ADDRESS>`. */
  token: string;
  /** Higher wins when spans overlap and are merged. */
  priority: number;
}

export interface EntityDetector {
  /** The token this detector writes: letters and underscores only, so NUMBERS redaction stays digit-free. */
  readonly token: string;
  find(text: string): Span[];
}

export const PRIORITY = { NUMBER: 1, PII: 2, CUSTOM: 3 } as const;

function regexDetector(token: string, priority: number, re: RegExp, accept: (m: string) => boolean = () => true): EntityDetector {
  return {
    token,
    find(text) {
      const spans: Span[] = [];
      for (const m of text.matchAll(re)) {
        if (m[0].length === 0 || !accept(m[0])) continue;
        spans.push({ start: m.index, end: m.index + m[0].length, token, priority });
      }
      return spans;
    },
  };
}

// ---- NUMBERS -------------------------------------------------------------------------------------------

/**
 * Every run of numeric characters, read as one number where it can be: a sign not glued to a word
 * (`-3.5`, but `algo-1` keeps its hyphen), thousands groups (`1,234,567`), decimals (`0.25`, `.5`), dotted
 * runs (`1.2.3`, `10.0.0.1` are one number each), exponents (`1e-5`, `6.02E+23`), hex (`0x1F`). The last alternative takes any other numeric character
 * (`\p{N}`: other scripts' digits, superscripts, fractions), so no digit survives.
 */
const NUMBER_RE =
  /(?:(?<![\p{L}\p{N}_.])[-+])?(?:0[xX][0-9A-Fa-f]+|(?:\p{Nd}+(?:,\p{Nd}{3})*(?:\.\p{Nd}+)*|(?<!\p{N})\.\p{Nd}+)(?:[eE][-+]?\p{Nd}+)?|\p{N}+)/gu;

export const numbersDetector: EntityDetector = regexDetector('<NUMBER>', PRIORITY.NUMBER, NUMBER_RE);

// ---- ALL_PERSONALLY_IDENTIFIABLE_INFORMATION --------------------------------------------------------------

/** user@example.com: a dotted domain ending in a 2+ letter top-level domain. */
const EMAIL_RE = /(?<![\p{L}\p{N}._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\p{L}\p{N}])/gu;

/**
 * Phone numbers: North American numbers written with separators or parentheses (`(206) 555-0100`,
 * `206-555-0100`, `+1 206 555 0100`), and international numbers in `+` form with 8–15 digits
 * (`+44 20 7946 0958`). Ten bare digits are not a phone number (too many ids and timestamps look like one).
 */
const NANP_RE = /(?<![\p{N}\w+])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\p{N}\w])/gu;
const INTL_PHONE_RE = /(?<![\p{N}\w+])\+[1-9]\d{0,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\p{N}\w])/gu;

/** Card numbers: 13–19 digits (with consistent space or dash groups) from a card network prefix, Luhn-valid. */
const CARD_RE =
  /(?<![\p{N}\w])(?:[2-6]\d{3}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|3[47]\d{2}([ -]?)\d{6}\2\d{5}|[2-6]\d{12,18})(?![\p{N}\w])/gu;

/** US social security numbers in the dashed (or spaced) form: no 000/666/9xx area, 00 group or 0000 serial. */
const SSN_RE = /(?<![\p{N}\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\p{N}\w-])/gu;

/** IPv4 candidates, checked by node:net (octets 0–255, no leading zeros). */
const IPV4_RE = /(?<![\p{N}\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\p{N}\w]|\.\d)/gu;
/** IPv6 candidates (including `::ffff:10.0.0.1` forms), checked by node:net. */
const IPV6_RE = /(?<![\p{N}\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\p{N}\w:])/gu;

/** MAC addresses: six hex pairs with one separator (`00:1a:2b:3c:4d:5e`, `00-1A-2B-3C-4D-5E`). */
const MAC_RE = /(?<![\p{N}\w:-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![\p{N}\w:-])/gu;

/** AWS access key ids (long-term AKIA…, temporary ASIA…). */
const AWS_ACCESS_KEY_RE = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/gu;

/** The Luhn checksum that every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

function digitCount(s: string): number {
  return s.replace(/\D/g, '').length;
}

function hasHexDigit(s: string): boolean {
  return /[0-9A-Fa-f]/.test(s);
}

export const piiDetectors: readonly EntityDetector[] = [
  regexDetector('<EMAIL_ADDRESS>', PRIORITY.PII, EMAIL_RE),
  regexDetector('<CREDIT_CARD_NUMBER>', PRIORITY.PII, CARD_RE, (m) => luhnValid(m.replace(/\D/g, ''))),
  regexDetector('<US_SSN>', PRIORITY.PII, SSN_RE),
  regexDetector('<PHONE_NUMBER>', PRIORITY.PII, NANP_RE),
  regexDetector('<PHONE_NUMBER>', PRIORITY.PII, INTL_PHONE_RE, (m) => digitCount(m) >= 8 && digitCount(m) <= 15),
  regexDetector('<IP_ADDRESS>', PRIORITY.PII, IPV4_RE, (m) => isIPv4(m)),
  regexDetector('<IP_ADDRESS>', PRIORITY.PII, IPV6_RE, (m) => hasHexDigit(m) && isIPv6(m)),
  regexDetector('<MAC_ADDRESS>', PRIORITY.PII, MAC_RE),
  regexDetector('<AWS_ACCESS_KEY>', PRIORITY.PII, AWS_ACCESS_KEY_RE),
];

// ---- CUSTOM ---------------------------------------------------------------------------------------------

export function customDetector(re: RegExp): EntityDetector {
  return regexDetector('<CUSTOM>', PRIORITY.CUSTOM, re);
}

// ---- applying spans -----------------------------------------------------------------------------------

/**
 * Replaces every span in `text`. Overlapping spans merge into one, written with the token of
 * the highest-priority span among them (CUSTOM over PII over NUMBER), so `call 206-555-0100` becomes
 * `call <PHONE_NUMBER>`, never `call <NUMBER>-<NUMBER>-<NUMBER>` or a token inside a token.
 */
export function replaceSpans(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  let cur: Span | undefined;
  for (const s of sorted) {
    if (cur && s.start < cur.end) {
      if (s.end > cur.end) cur.end = s.end;
      if (s.priority > cur.priority) {
        cur.priority = s.priority;
        cur.token = s.token;
      }
      continue;
    }
    if (cur) {
      out += text.slice(at, cur.start) + cur.token;
      at = cur.end;
    }
    cur = { ...s };
  }
  if (cur) out += text.slice(at, cur.start) + cur.token;
  return out + text.slice(cur ? cur.end : at);
}
