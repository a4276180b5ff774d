#!/usr/bin/env node
// Prints the README's Quick start code (the first ```ts block of its "## Quick start" section), so that
// test/readme.test.ts and scripts/ci-pack-install.sh run exactly what the README shows.
// Usage: node scripts/readme-quickstart.js [README.md] > quickstart.ts
'use strict';
const fs = require('fs');
const path = require('path');

function quickStartCode(readme) {
  const start = readme.indexOf('\n## Quick start');
  if (start < 0) throw new Error('README.md has no "## Quick start" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('the README\'s Quick start section has no ```ts code block');
  return m[1];
}

module.exports = { quickStartCode };

if (require.main === module) {
  const file = process.argv[2] || path.join(__dirname, '..', 'README.md');
  process.stdout.write(quickStartCode(fs.readFileSync(file, 'utf8')));
}
