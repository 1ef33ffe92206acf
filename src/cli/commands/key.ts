/**
 * `holdfast key list|add|remove ID|passwd`: manage the passwords of a repository, with
 * restic 0.14's syntax. The new password comes from --new-password-file or the environment
 * (HOLDFAST_NEW_PASSWORD, HOLDFAST_NEW_PASSWORD_FILE); it is never printed.
 */
import type { Command } from 'commander';
import type { PasswordSource } from '../../app/credentials.js';
import { addRepoKey, changeRepoPassword, listRepoKeys, removeRepoKey } from '../../app/key-admin.js';
import { parseGoTime } from '../../engine/gotime.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';

interface KeyFlags {
  newPasswordFile?: string;
  user?: string;
  host?: string;
}

const ACTIONS = ['list', 'add', 'remove', 'passwd'];

function newPassword(f: KeyFlags, e: NodeJS.ProcessEnv = process.env): PasswordSource {
  if (f.newPasswordFile) return { file: f.newPasswordFile };
  const value = e.HOLDFAST_NEW_PASSWORD ?? e.RESTIC_NEW_PASSWORD;
  if (value !== undefined) return { value };
  const file = e.HOLDFAST_NEW_PASSWORD_FILE || e.RESTIC_NEW_PASSWORD_FILE;
  if (file) return { file };
  return fail('NO_PASSWORD', 'no new password given: use --new-password-file or set HOLDFAST_NEW_PASSWORD');
}

/** restic's table time format, in the local zone: 2006-01-02 15:04:05. */
function localTime(goTime: string): string {
  let d: Date;
  try {
    d = new Date(Number(parseGoTime(goTime) / 1_000_000n));
  } catch {
    return goTime;
  }
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function registerKey(program: Command, globals: () => GlobalOptions): void {
  program
    .command('key')
    .description('manage keys (passwords): list, add, remove ID, passwd')
    .argument('<action>', ACTIONS.join('|'))
    .argument('[id]', 'key ID (or unique prefix) for remove')
    .option('--new-password-file <file>', 'file holding the new password (env HOLDFAST_NEW_PASSWORD)')
    .option('--user <name>', 'user name recorded in a new key (key add)')
    .option('--host <name>', 'host name recorded in a new key (key add)')
    .action(async (action: string, id: string | undefined, flags: KeyFlags) => {
      if (!ACTIONS.includes(action))
        fail('INVALID_ARGUMENT', `unknown key action "${action}": use ${ACTIONS.join(', ')}`);
      if ((action === 'remove') !== (id !== undefined))
        fail(
          'INVALID_ARGUMENT',
          action === 'remove' ? 'key remove needs a key ID' : `key ${action} takes no ID`,
        );
      const g = globals();
      const out = makeOutput(g);
      const ref = repoRef(g);
      switch (action) {
        case 'list': {
          const keys = await listRepoKeys(ref);
          if (out.json) {
            process.stdout.write(
              JSON.stringify(
                keys.map((k) => ({
                  current: k.current,
                  id: k.id.slice(0, 8),
                  userName: k.username,
                  hostName: k.hostname,
                  created: localTime(k.created),
                })),
              ) + '\n',
            );
            return;
          }
          const rows = keys.map((k) => [
            `${k.current ? '*' : ' '}${k.id.slice(0, 8)}`,
            k.username,
            k.hostname,
            localTime(k.created),
          ]);
          const head = [' ID', 'User', 'Host', 'Created'];
          const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
          const line = (r: string[]) =>
            r
              .map((c, i) => c.padEnd(widths[i]))
              .join('  ')
              .trimEnd();
          const rule = '-'.repeat(Math.max(...[head, ...rows].map((r) => line(r).length)));
          out.info(line(head));
          out.info(rule);
          for (const r of rows) out.info(line(r));
          out.info(rule);
          return;
        }
        case 'add': {
          const newId = await addRepoKey(ref, newPassword(flags), {
            username: flags.user,
            hostname: flags.host,
          });
          out.info(`saved new key as ${newId.slice(0, 8)}`);
          out.emit({ message_type: 'key_added', id: newId });
          return;
        }
        case 'remove': {
          const removed = await removeRepoKey(ref, id ?? '');
          out.info(`removed key ${removed}`);
          out.emit({ message_type: 'key_removed', id: removed });
          return;
        }
        case 'passwd': {
          const { newId, removedId } = await changeRepoPassword(ref, newPassword(flags));
          out.info(`saved new key as ${newId.slice(0, 8)}; removed the old key ${removedId.slice(0, 8)}`);
          out.emit({ message_type: 'password_changed', id: newId, removed_id: removedId });
          return;
        }
      }
    });
}
