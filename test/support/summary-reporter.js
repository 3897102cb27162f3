/**
 * One closing line, "tests: N passed, N failed", that CI reads whatever the
 * runner (jest's own summary is not in a form it knows). Jest prints its own
 * summary after every reporter, so when AIRLOCK_TEST_SUMMARY_FILE names a
 * file the line goes there, and scripts/test.sh prints it once jest is done:
 * then it is truly the last line.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    if (process.env.AIRLOCK_TEST_SUMMARY_FILE) require('node:fs').writeFileSync(process.env.AIRLOCK_TEST_SUMMARY_FILE, line);
    else process.stdout.write(`\n${line}`);
  }
}
module.exports = SummaryReporter;
