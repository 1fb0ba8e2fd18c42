#!/usr/bin/env node
// CLI entry: runs the TypeScript sources through tsx's require hook (no build step).
require('tsx/cjs');
require('../src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
