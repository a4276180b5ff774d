// Jest reporter for .ci/run: writes every test's identity and status to a JSON file, and prints, per
// file, the reason its file printed for its skipped tests (a console line containing "SKIPPED" or
// "SKIPPING"). A skipped test whose file printed no reason is listed as such, so that .ci/run can fail.
//   jest --reporters=default --reporters=<this file> ...   with CI_RESULTS=<output file> in the environment
'use strict';
const fs = require('fs');
const path = require('path');

class CiReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.tests = [];
    this.suiteErrors = [];
  }

  onTestResult(_test, result) {
    const file = path.relative(this.rootDir, result.testFilePath);
    const reasons = (result.console || [])
      .map((e) => String(e.message))
      .filter((m) => /SKIPP(ED|ING)/.test(m))
      .map((m) => m.replace(/\s+/g, ' ').trim());
    if (result.testExecError) this.suiteErrors.push({ file, message: String(result.testExecError.message).split('\n')[0] });
    for (const a of result.testResults) {
      const status = a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped';
      this.tests.push({ id: `${file} › ${a.fullName}`, status, reasons: status === 'skipped' ? reasons : undefined });
    }
  }

  onRunComplete() {
    const byFile = new Map();
    for (const t of this.tests) {
      if (t.status !== 'skipped') continue;
      const file = t.id.split(' › ')[0];
      if (!byFile.has(file)) byFile.set(file, { reasons: t.reasons, names: [] });
      byFile.get(file).names.push(t.id.slice(file.length + 3));
    }
    for (const [file, { reasons, names }] of byFile) {
      // eslint-disable-next-line no-console
      console.log(`ci: ${names.length} skipped in ${file}, because: ${reasons.length ? reasons.join(' | ') : 'NO REASON PRINTED by the file'}\n` +
        names.map((n) => `ci:   skipped: ${n}`).join('\n'));
    }
    const out = process.env.CI_RESULTS;
    if (out) fs.writeFileSync(out, JSON.stringify({ tests: this.tests, suiteErrors: this.suiteErrors }));
  }
}

module.exports = CiReporter;
