#!/usr/bin/env node
// Entry point of the `holdfast` binary: runs the compiled CLI. A CommonJS file (bin/package.json)
// so that this line runs before anything uses libuv's thread pool: an ES module entry is read
// through that pool, which starts it with its default 4 threads and ignores a later setting.
// File system calls wait on the disk, and a restore keeps dozens in flight, so it gets 16.
process.env.UV_THREADPOOL_SIZE ??= '16';

import('../dist/cli/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
