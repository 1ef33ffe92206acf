#!/usr/bin/env node
// Entry point of the `holdfast` binary: runs the compiled CLI. libuv's thread pool (file
// system calls) gets more than its default 4 threads before anything uses it: creating,
// syncing and reading files wait on the disk, and a restore keeps dozens in flight.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
