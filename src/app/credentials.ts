/**
 * Where a repository password comes from: a file, a command's output, or a value given
 * directly (e.g. from the environment by the CLI). The password is returned as bytes and
 * never logged.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { fail } from '../errors.js';

export type PasswordSource = { file: string } | { command: string } | { value: string };

function stripNewline(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  return b.subarray(0, end);
}

function runCommand(command: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { encoding: 'buffer', maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

export async function readPassword(source: PasswordSource): Promise<Buffer> {
  let pw: Buffer;
  if ('value' in source) pw = Buffer.from(source.value);
  else if ('file' in source) {
    try {
      pw = stripNewline(await fsp.readFile(source.file));
    } catch (err) {
      return fail(
        'NO_PASSWORD',
        `cannot read the password file ${source.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  } else {
    try {
      pw = stripNewline(await runCommand(source.command));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return fail(
        'NO_PASSWORD',
        `the password command failed (exit code ${String(code)}): check the command`,
      );
    }
  }
  if (pw.length === 0) fail('NO_PASSWORD', 'the password is empty: give a non-empty password');
  return pw;
}
