/**
 * What `logType: ERROR_SUMMARY` lets through locally **(decided)**: AWS calls it "shorter error summaries"
 * and says no more. A line belongs to the error summary when, on either stream (Python's logging and most
 * training frameworks write everything to stderr, so the stream alone says little), it carries an error
 * marker:
 * - one of the words `error`, `exception`, `traceback`, `fatal`, `failed`, `failure`, `panic`, `critical`,
 *   `killed`, `abort`/`aborted`, `segmentation fault`, `out of memory`, `oom` in any case, as whole words
 *   (so `errors=0` or `error_rate` do not count, `ERROR:` and `[error]` do);
 * - an exception class name ending in `Error` or `Exception` (`ValueError: ...`, `java.lang.IllegalStateException`).
 * So a Python traceback reaches the summary as its `Traceback (most recent call last):` header and its final
 * `SomethingError: message` line, without the stack frames in between. The run's failure message
 * (`statusDetails.message`) is always part of the summary: see LogView.applyFailureMessage.
 */
const ERROR_WORD =
  /(?<![\p{L}\p{N}_])(?:error|exception|traceback|fatal|failed|failure|panic|critical|killed|abort|aborted|segmentation fault|out of memory|oom)(?![\p{L}\p{N}_])/iu;
const EXCEPTION_CLASS = /[A-Za-z0-9_](?:Error|Exception)(?![\p{L}\p{N}_])/u;

export function isErrorSummaryLine(text: string): boolean {
  return ERROR_WORD.test(text) || EXCEPTION_CLASS.test(text);
}
