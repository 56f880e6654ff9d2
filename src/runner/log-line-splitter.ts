import { StringDecoder } from 'node:string_decoder';

/** Longest line kept whole; longer output is cut into lines of this many characters. */
export const MAX_LINE_CHARS = 256 * 1024;

/**
 * Splits a byte stream into lines: `\n`, `\r\n` and a lone `\r` (progress bars) end a line; a line split
 * across chunks is joined; a multi-byte character split across chunks is decoded whole; invalid UTF-8
 * becomes U+FFFD; a very long line is cut rather than held without bound.
 */
export class LogLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private pendingCR = false;

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Buffer): string[] {
    return this.split(this.decoder.write(chunk));
  }

  /** The end of the stream: the last line, if it had no newline. */
  end(): string[] {
    const lines = this.split(this.decoder.end());
    if (this.partial.length > 0) lines.push(this.partial);
    this.partial = '';
    return lines;
  }

  private split(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === 10) {
          start = i + 1;
          continue;
        }
      }
      if (c === 10 || c === 13) {
        lines.push(this.partial + text.slice(start, i));
        this.partial = '';
        start = i + 1;
        this.pendingCR = c === 13;
      }
    }
    this.partial += text.slice(start);
    while (this.partial.length > MAX_LINE_CHARS) {
      lines.push(this.partial.slice(0, MAX_LINE_CHARS));
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
    return lines;
  }
}
