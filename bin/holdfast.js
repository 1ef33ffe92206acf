#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50
// Entry point of the `holdfast` binary: runs the compiled CLI. A CommonJS file (bin/package.json)
// so that this line runs before anything uses libuv's thread pool: an ES module entry is read
// through that pool, which starts it with its default 4 threads and ignores a later setting.
// File system calls wait on the disk, and a restore keeps dozens in flight, so it gets 16.
//
// The V8 options on the first line can only be given when the process starts. Holdfast's data
// lives in buffers outside V8's heap, so a young generation of 2 × 2 MiB (V8 grows it up to
// 2 × 16 MiB) and an old generation that grows by half its live size between full collections
// cut peak RSS by 10–35 MiB in every phase of the benchmark at little cost in speed (see
// bench/RESULTS.md). MALLOC_ARENA_MAX=2, which glibc also reads only at start, keeps the
// threads' buffers in two malloc arenas instead of one per thread: with an arena per worker,
// freed memory went back to the system and was faulted in again, which cost a pg_dump stream
// 1.2–1.8 s of CPU per GB; one arena made check --read-data's workers wait on each other.
// Child processes inherit it, as they inherit UV_THREADPOOL_SIZE below.
// Run as `node bin/holdfast.js`, none of these apply.
process.env.UV_THREADPOOL_SIZE ??= '16';

import('../dist/cli/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
