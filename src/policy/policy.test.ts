/**
 * The policy file: the example loads with defaults resolved; invalid files are rejected
 * with FILE:LINE:COL and a sentence that says what to change; `${ENV}` references resolve
 * at run time; cron schedules read as words; durations convert to restic's form; the JSON
 * Schema export describes the assets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHoldfastError } from '../errors.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { parseDuration } from './duration.js';
import { describeSchedule } from './frequency.js';
import { policyJsonSchema } from './json-schema.js';
import { loadPolicy } from './load.js';
import { PolicyError } from './problems.js';
import { keyPasswordSource, repositoryUrl } from './runtime.js';
import { resolveSecretRef, secretRefProblem } from './secret-ref.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = path.join(ROOT, 'examples/holdfast.yaml');

/** Strips the common indentation of a template literal so line numbers read naturally. */
function yaml(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

describe('policy file', () => {
  let tmp: string;
  let n = 0;
  before(() => {
    tmp = makeTempDir('policy');
  });
  after(() => removeDir(tmp));

  function write(text: string): string {
    const dir = path.join(tmp, `case-${++n}`);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'holdfast.yaml');
    fs.writeFileSync(file, yaml(text));
    return file;
  }

  /** Loads a policy that must be invalid; returns its problem lines without the file name. */
  async function problems(text: string): Promise<string[]> {
    const file = write(text);
    try {
      await loadPolicy(file);
    } catch (err) {
      assert.ok(err instanceof PolicyError, String(err));
      assert.ok(isHoldfastError(err, 'INVALID_POLICY'));
      for (const line of err.message.split('\n')) assert.ok(line.startsWith(`${file}:`), line);
      return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
    }
    assert.fail('the policy was accepted');
  }

  /** Asserts one problem at LINE:COL whose message matches every pattern. */
  async function rejects(text: string, at: string, ...patterns: RegExp[]): Promise<void> {
    const found = await problems(text);
    const hit = found.find((p) => p.startsWith(`${at}: `) && patterns.every((re) => re.test(p)));
    assert.ok(hit, `expected a problem at ${at} matching ${patterns.join(' ')}; got:\n${found.join('\n')}`);
  }

  // Indented like the test bodies below, so yaml() strips both alike; assets: start on line 7.
  const KEYS_AND_REPOS = `
      keys:
        main: { passwordFile: pw }
      repositories:
        primary: { url: repo, key: main }
        offsite: { url: offsite, key: main }
      `;

  test('the example policy loads, with defaults and paths resolved', async () => {
    const p = await loadPolicy(EXAMPLE);
    const dir = path.dirname(EXAMPLE);
    assert.equal(p.dir, dir);
    assert.deepEqual(p.catalog, { kind: 'sqlite', path: path.join(ROOT, '.holdfast/catalog.db') });
    assert.equal(p.concurrency, 2);
    assert.equal(p.timezone, 'UTC');
    assert.equal(p.keys.primary.passwordFile, path.join(ROOT, '.holdfast/password'));
    assert.equal(p.repositories.primary.url, path.join(ROOT, '.holdfast/repo'));
    assert.equal(p.repositories.replica.key, 'replica');
    const files = p.assets['example-files'];
    assert.ok(files.backup);
    assert.deepEqual(files.source, {
      type: 'files',
      paths: [path.join(dir, 'data')],
      exclude: ['*.tmp'],
      before: [],
    });
    assert.equal(files.schedule.description, 'Twice a day');
    assert.equal(files.rpo?.ms, 12 * 3600_000);
    assert.equal(files.retention.within?.restic, '60d');
    assert.deepEqual(files.copies, ['replica']);
    const notes = p.assets['example-notes'];
    assert.ok(notes.backup && notes.source.type === 'command');
    assert.equal(notes.schedule.description, 'Daily at 02:30');
    const cache = p.assets['example-cache'];
    assert.equal(cache.backup, false);
    assert.match(cache.notes ?? '', /recreated/);
  });

  test('a default catalog sits next to the policy file; postgres URLs pass through', async () => {
    const p = await loadPolicy(write(`assets: { a: { data: A, backup: none, notes: Gone } }`));
    assert.deepEqual(p.catalog, { kind: 'sqlite', path: path.join(p.dir, '.holdfast/catalog.db') });
    const q = await loadPolicy(
      write(`
        catalog: postgres://holdfast@db/holdfast
        concurrency: 4
        assets: { a: { data: A, backup: none, notes: Gone } }
      `),
    );
    assert.deepEqual(q.catalog, { kind: 'postgres', url: 'postgres://holdfast@db/holdfast' });
    assert.equal(q.concurrency, 4);
  });

  test('an unknown key says which key was meant', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedul: "0 3 * * *"
      `,
      '11:5',
      /assets\.db: unknown key "schedul" — did you mean "schedule"\?/,
    );
  });

  test('an unknown top-level key and a snake_case key get suggestions', async () => {
    const found = await problems(`
      asets: {}
      keys:
        main: { password_file: pw }
    `);
    assert.ok(found.includes('1:1: unknown key "asets" — did you mean "assets"?'), found.join('\n'));
    assert.ok(
      found.includes('3:11: keys.main: unknown key "password_file" — did you mean "passwordFile"?'),
      found.join('\n'),
    );
  });

  test('an unknown key with nothing near lists the allowed keys', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db: { data: D, backup: none, notes: N, colour: blue }
      `,
      '8:42',
      /unknown key "colour" — remove it; allowed here: data, storage, location/,
    );
  });

  test('an asset with a backup but no source', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          schedule: "0 3 * * *"
          retention: { within: 60d }
          repository: primary
      `,
      '8:3',
      /asset "db" has no source — add source: \{ type: files/,
      /backup: none/,
    );
  });

  test('a bad cron expression', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "61 3 * * *"
          retention: { within: 60d }
          repository: primary
      `,
      '11:15',
      /assets\.db\.schedule: "61 3 \* \* \*" is not a valid cron expression \(Invalid value for minute: 61\) — write five fields/,
    );
  });

  test('a cron expression with the wrong number of fields', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: { cron: "0 3 * *", timezone: UTC }
          retention: { within: 60d }
          repository: primary
      `,
      '11:23',
      /schedule\.cron: "0 3 \* \*" has 4 fields, a cron expression has 5 — write/,
    );
  });

  test('an unknown time zone', async () => {
    await rejects(
      `
      timezone: Europe/Londn
      assets: { a: { data: A, backup: none, notes: Gone } }
      `,
      '1:11',
      /timezone: "Europe\/Londn" is not a time zone — use an IANA name such as UTC, Europe\/London/,
    );
  });

  test('an asset naming a repository that does not exist', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: { within: 60d }
          repository: primay
      `,
      '13:17',
      /assets\.db\.repository: there is no repository named "primay" — did you mean "primary"\?/,
    );
  });

  test('a copy naming an unknown repository, and a copy to the primary itself', async () => {
    const text = `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: { within: 60d }
          repository: primary
          copies: [primary, elsewhere]
    `;
    await rejects(
      text,
      '14:14',
      /copies\[0\]: "primary" is the asset's own repository.*— name another repository/,
    );
    await rejects(
      text,
      '14:23',
      /copies\[1\]: there is no repository named "elsewhere" — name one of the repositories: primary, offsite/,
    );
  });

  test('a repository naming a key that does not exist', async () => {
    await rejects(
      `
      keys:
        main: { passwordFile: pw }
      repositories:
        primary: { url: repo, key: mian }
      assets: { a: { data: A, backup: none, notes: Gone } }
      `,
      '4:30',
      /repositories\.primary\.key: there is no key named "mian" — did you mean "main"\?/,
    );
  });

  test('retention shorter than the repository immutability', async () => {
    await rejects(
      `
      keys:
        main: { passwordFile: pw }
      repositories:
        primary: { url: repo, key: main, immutable: { days: 60 } }
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: { within: 30d }
          repository: primary
      `,
      '10:26',
      /the retention keeps snapshots for 30 days but repository "primary" is immutable for 60 days — retention must keep snapshots at least 60 days \(e\.g\. within: 60d\), or lower immutable\.days/,
    );
  });

  test('retention counted in keep rules is checked against a copy target immutability too', async () => {
    await rejects(
      `
      keys:
        main: { passwordFile: pw }
      repositories:
        primary: { url: repo, key: main }
        vault: { url: vault, key: main, immutable: { days: 90 } }
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: { keepDaily: 7, keepWeekly: 4 }
          repository: primary
          copies: [vault]
      `,
      '11:5',
      /keeps snapshots for 28 days but repository "vault" is immutable for 90 days/,
    );
  });

  test('a bad duration for rpo and a retention counted in minutes', async () => {
    const text = `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          rpo: 12 hours
          retention: { within: 6m }
          repository: primary
    `;
    await rejects(
      text,
      '12:10',
      /assets\.db\.rpo: "12 hours" is not a duration — write a number and a unit: 90m/,
    );
    await rejects(text, '13:26', /"6m" counts in minutes — .*for six months write 6mo/);
  });

  test('an rpo the schedule cannot meet', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          rpo: 6h
          retention: { within: 60d }
          repository: primary
      `,
      '12:10',
      /the schedule runs only every 24 hours, so an rpo of 6h cannot be met — schedule backups more often or raise the rpo/,
    );
  });

  test('a key with no secret source, and one with two', async () => {
    const text = `
      keys:
        none: {}
        both: { passwordFile: pw, password: "\${PW}" }
      assets: { a: { data: A, backup: none, notes: Gone } }
    `;
    await rejects(
      text,
      '2:3',
      /key "none" has no secret source — add one of passwordFile: .*password: "\$\{BACKUP_PASSWORD\}"/,
    );
    await rejects(
      text,
      '3:29',
      /key "both" has 2 secret sources \(passwordFile, password\) — keep exactly one/,
    );
  });

  test('a password written into the file is refused without repeating it', async () => {
    const found = await problems(`
      keys:
        main: { password: hunter2 }
      assets: { a: { data: A, backup: none, notes: Gone } }
    `);
    assert.equal(found.length, 1);
    assert.match(
      found[0],
      /^2:21: keys\.main\.password: the password is written in the policy file — .*"\$\{BACKUP_PASSWORD\}"/,
    );
    assert.ok(!found[0].includes('hunter2'));
  });

  test('a malformed ${ENV} reference', async () => {
    await rejects(
      `
      keys:
        main: { password: "\${BACKUP-PW}" }
      assets: { a: { data: A, backup: none, notes: Gone } }
      `,
      '2:21',
      /"\$\{BACKUP-PW\}" is not a valid reference — a variable name has letters, digits and _/,
    );
  });

  test('a YAML syntax error names its line and says how to fix it', async () => {
    const found = await problems(`
      assets:
        db:
          data: Database
         storage: Disk
    `);
    assert.equal(found.length, 1);
    assert.match(found[0], /^4:1: .* — indent the entries of one map or list by the same number of spaces$/);
  });

  test('an unquoted cron starting with * is explained', async () => {
    await rejects(
      `
      assets:
        db:
          data: Database
          schedule: */5 * * * *
      `,
      '4:19',
      /put the value in quotes: a value starting with \* is read as a YAML alias/,
    );
  });

  test('a retention without any rule, and an immutability of 0 days', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: {}
          repository: primary
      `,
      '12:5',
      /assets\.db\.retention: the retention keeps nothing — add a rule such as within: 60d or keepDaily: 30/,
    );
    await rejects(
      `
      keys: { main: { passwordFile: pw } }
      repositories:
        primary: { url: repo, key: main, immutable: { days: 0 } }
      assets: { a: { data: A, backup: none, notes: N } }
      `,
      '3:55',
      /repositories\.primary\.immutable\.days: 0 is not allowed — use a whole number of at least 1$/,
    );
  });

  test('the policy in DESIGN.md is valid', async () => {
    const p = await loadPolicy(
      write(`
        catalog: sqlite:.holdfast/catalog.db
        keys:
          primary: { passwordFile: /run/secrets/primary }
          replica: { passwordCommand: "pass show backup/replica" }
        repositories:
          primary: { url: "s3:https://s3.eu-west-2.amazonaws.com/acme-backups", key: primary,
                     immutable: { days: 60 }, location: eu-west-2 }
          offsite: { url: "sftp://backup@dr-site//srv/holdfast", key: replica, location: eu-west-1 }
        assets:
          service-db:
            data: Service Database
            storage: PostgreSQL (Aurora)
            location: acme-production
            category: patient-data
            use: All data on vaccinations, schools, teams and consents
            source: { type: postgres, url: "postgres://backup@db/acme" }
            schedule: "0 3,15 * * *"        # twice a day
            rpo: 12h
            retention: { within: 60d }
            repository: primary
            copies: [offsite]
            drill:
              schedule: "0 6 1 1,4,7,10 *"   # quarterly restore test
              target: { type: postgres, url: "postgres://drill@staging/postgres" }
              probes:
                - sql: "select count(*) > 0 from vaccinations"
                - command: "./scripts/decrypt-sample.sh"
          app-secrets:
            data: Application secrets
            category: cloud-infrastructure
            backup: none
            notes: Can be recreated in case of disaster
        recovery:
          - tier: identity
            manual: Restore SSO and admin access to cloud consoles
          - tier: database
            assets: [service-db]
          - tier: connectivity
            manual: Re-enable WAF and DNS routing
        checks:
          integrity: { schedule: "0 2 * * 0", readData: 5% }
        alerts:
          - slack: { webhookUrl: "\${SLACK_WEBHOOK_URL}" }
        audit: { retention: 1y }
      `),
    );
    const db = p.assets['service-db'];
    assert.ok(db.backup);
    assert.equal(p.repositories.primary.immutableDays, 60);
    assert.equal(p.repositories.primary.url, 's3:https://s3.eu-west-2.amazonaws.com/acme-backups');
    assert.equal(db.drill?.schedule?.description, 'Quarterly');
    assert.equal(p.checks.integrity?.schedule?.description, 'Weekly on Sunday');
    assert.equal(p.audit.retention?.restic, '1y');
    assert.deepEqual(
      p.recovery.map((t) => t.tier),
      ['identity', 'database', 'connectivity'],
    );
  });

  test('a schedule with its own time zone, and a top-level default', async () => {
    const p = await loadPolicy(
      write(`
        timezone: Europe/London
        keys: { main: { passwordFile: pw } }
        repositories: { primary: { url: repo, key: main } }
        assets:
          a:
            data: A
            source: { type: git, url: "https://example.org/a.git" }
            schedule: "0 1 * * *"
            retention: { keepDaily: 7, withinWeekly: 3mo }
            repository: primary
          b:
            data: B
            source: { type: redis, url: "redis://cache:6379" }
            schedule: { cron: "0 1 * * *", timezone: America/New_York }
            retention: { keepLast: 3 }
            repository: primary
      `),
    );
    const a = p.assets.a;
    const b = p.assets.b;
    assert.ok(a.backup && b.backup);
    assert.equal(a.schedule.timezone, 'Europe/London');
    assert.equal(b.schedule.timezone, 'America/New_York');
    assert.equal(a.retention.withinWeekly?.restic, '3m');
    assert.equal(a.retention.keepDaily, 7);
  });

  test('a duplicate key', async () => {
    await rejects(
      `
      assets:
        a: { data: A, backup: none, notes: N }
        a: { data: B, backup: none, notes: N }
      `,
      '3:3',
      /this key appears twice in the same map — remove or rename one of them/,
    );
  });

  test('a value of the wrong type', async () => {
    const text = `
      concurrency: two
      assets:
        db:
          data: [a, b]
          backup: none
          notes: N
    `;
    await rejects(
      text,
      '1:14',
      /concurrency: expected a number but found text — how many jobs the daemon runs at once/,
    );
    await rejects(text, '4:5', /assets\.db\.data: expected text but found a list — what the data is/);
  });

  test('a negative keepDaily', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv] }
          schedule: "0 3 * * *"
          retention: { keepDaily: -1 }
          repository: primary
      `,
      '12:29',
      /retention\.keepDaily: -1 is not allowed — use a whole number of at least 1/,
    );
  });

  test('an unknown source type, and a source without a type', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: postgresql, url: "postgres://db/app" }
      `,
      '10:21',
      /assets\.db\.source\.type: unknown source type "postgresql" — did you mean "postgres"\?/,
    );
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { paths: [/srv] }
      `,
      '10:5',
      /assets\.db\.source: has no type — add type: one of files, command, postgres/,
    );
  });

  test('an unknown field of a source kind', async () => {
    await rejects(
      `${KEYS_AND_REPOS}
      assets:
        db:
          data: Database
          source: { type: files, paths: [/srv], excludes: ['*.tmp'] }
      `,
      '10:43',
      /assets\.db\.source: unknown key "excludes" — did you mean "exclude"\?/,
    );
  });

  test('a missing required field inside an entry', async () => {
    await rejects(
      `
      keys:
        main: { passwordFile: pw }
      repositories:
        primary: { key: main }
      assets: { a: { data: A, backup: none, notes: Gone } }
      `,
      '4:3',
      /repositories\.primary: url is missing — add url: repository location/,
    );
  });

  test('backup: none with backup settings, and without notes', async () => {
    const text = `
      assets:
        cache:
          data: Cache
          backup: none
          schedule: "0 3 * * *"
    `;
    await rejects(text, '5:5', /asset "cache" has backup: none, so schedule is never used — remove schedule/);
    await rejects(text, '4:5', /asset "cache" is not backed up but has no notes — add notes:/);
  });

  test('an invalid asset name and a bad backup value', async () => {
    await rejects(
      `
      assets:
        "my db!": { data: A, backup: none, notes: N }
      `,
      '2:3',
      /"my db!" is not a valid name — names use letters, digits/,
    );
    await rejects(
      `
      assets:
        db: { data: A, backup: no, notes: N }
      `,
      '2:26',
      /assets\.db\.backup: only "none" is allowed/,
    );
  });

  test('recovery steps name existing assets', async () => {
    await rejects(
      `
      assets: { app: { data: A, backup: none, notes: N } }
      recovery:
        - tier: identity
          manual: Restore SSO
        - tier: application
          assets: [ap]
      `,
      '6:14',
      /recovery\[1\]\.assets\[0\]: there is no asset named "ap" — did you mean "app"\?/,
    );
  });

  test('an empty file and a missing file', async () => {
    await rejects('# nothing yet\n', '1:1', /the policy file is empty — start from examples\/holdfast\.yaml/);
    await assert.rejects(loadPolicy(path.join(tmp, 'absent.yaml')), (err) => {
      assert.ok(isHoldfastError(err, 'INVALID_POLICY'));
      assert.match(err.message, /no policy file at .*absent\.yaml — create one/);
      return true;
    });
  });

  test('every problem of a file is reported, in file order', async () => {
    const found = await problems(`
      timezone: Mars/Olympus
      concurrency: 0
      assets:
        db: { data: A, backup: none, note: N }
    `);
    assert.deepEqual(
      found.map((p) => p.split(': ')[0]),
      ['1:11', '2:14', '4:32'],
    );
  });
});

describe('secret references', () => {
  test('resolve from the given environment, with $${ as a literal', () => {
    const env = { PW: 's3cret', HOST: 'db' };
    assert.equal(resolveSecretRef('${PW}', env), 's3cret');
    assert.equal(
      resolveSecretRef('postgres://backup:${PW}@${HOST}/app', env),
      'postgres://backup:s3cret@db/app',
    );
    assert.equal(resolveSecretRef('price $5 and $${PW}', env), 'price $5 and ${PW}');
  });

  test('an unset variable names the variable, never a value', () => {
    assert.throws(
      () => resolveSecretRef('${MISSING_PW}', { OTHER: 'x' }, 'keys.main.password'),
      (err) => {
        assert.ok(isHoldfastError(err, 'MISSING_SECRET'));
        assert.match(
          err.message,
          /environment variable MISSING_PW is not set \(keys\.main\.password refers to it\)/,
        );
        return true;
      },
    );
  });

  test('syntax is checked', () => {
    assert.equal(secretRefProblem('${OK_1}'), undefined);
    assert.match(secretRefProblem('${unclosed') ?? '', /not closed/);
    assert.match(secretRefProblem('${1BAD}') ?? '', /not a valid reference/);
  });

  test('key password sources and repository URLs resolve at run time', async () => {
    const tmp = makeTempDir('policy-refs');
    try {
      const file = path.join(tmp, 'holdfast.yaml');
      fs.writeFileSync(
        file,
        yaml(`
          keys:
            env: { password: "\${BACKUP_PW}" }
            file: { passwordFile: "\${CREDS}/backup" }
            local: { passwordFile: secrets/pw }
            cmd: { passwordCommand: "pass show backup" }
          repositories:
            remote: { url: "rest:https://u:\${REST_PW}@backup.example/repo", key: env }
            here: { url: repo, key: local }
          assets: { a: { data: A, backup: none, notes: N } }
        `),
      );
      const p = await loadPolicy(file);
      assert.equal(p.keys.env.password, '${BACKUP_PW}');
      const env = { BACKUP_PW: 'pw1', CREDS: '/run/creds', REST_PW: 'pw2' };
      assert.deepEqual(keyPasswordSource(p, 'env', env), { value: 'pw1' });
      assert.deepEqual(keyPasswordSource(p, 'file', env), { file: '/run/creds/backup' });
      assert.deepEqual(keyPasswordSource(p, 'local', env), { file: path.join(tmp, 'secrets/pw') });
      assert.deepEqual(keyPasswordSource(p, 'cmd', env), { command: 'pass show backup' });
      assert.equal(repositoryUrl(p, 'remote', env), 'rest:https://u:pw2@backup.example/repo');
      assert.equal(repositoryUrl(p, 'here', env), path.join(tmp, 'repo'));
      assert.throws(() => keyPasswordSource(p, 'env', {}), /BACKUP_PW is not set/);
    } finally {
      removeDir(tmp);
    }
  });
});

describe('durations', () => {
  test('parse into milliseconds and restic keep-within form', () => {
    const cases: [string, number, string][] = [
      ['12h', 12 * 3600_000, '12h'],
      ['60d', 60 * 86400_000, '60d'],
      ['1y', 365 * 86400_000, '1y'],
      ['2w', 14 * 86400_000, '14d'],
      ['90m', 90 * 60_000, '2h'],
      ['6mo', 180 * 86400_000, '6m'],
      ['1d12h', 36 * 3600_000, '1d12h'],
    ];
    for (const [text, ms, restic] of cases) {
      assert.deepEqual(parseDuration(text), { text, ms, restic }, text);
    }
    for (const bad of ['', '12', 'h', '12 hours', '0d', '-1d', '1.5d'])
      assert.equal(parseDuration(bad), undefined, bad);
  });
});

describe('frequency in words', () => {
  test('common cron shapes', () => {
    const cases: [string, string][] = [
      ['0 3,15 * * *', 'Twice a day'],
      ['0 3 * * *', 'Daily at 03:00'],
      ['30 2 * * *', 'Daily at 02:30'],
      ['0 */6 * * *', 'Every 6 hours'],
      ['0 * * * *', 'Every hour'],
      ['*/15 * * * *', 'Every 15 minutes'],
      ['* * * * *', 'Every minute'],
      ['0 0,8,16 * * *', '3 times a day'],
      ['0 2 * * 0', 'Weekly on Sunday'],
      ['0 2 * * 7', 'Weekly on Sunday'],
      ['0 2 * * mon', 'Weekly on Monday'],
      ['0 2 * * 1-5', 'Weekdays at 02:00'],
      ['0 2 * * 1,4', 'Twice a week'],
      ['0 4 1 * *', 'Monthly'],
      ['0 6 1 1,4,7,10 *', 'Quarterly'],
      ['0 6 1 */3 *', 'Quarterly'],
      ['0 6 1 1,7 *', 'Twice a year'],
      ['0 0 1 1 *', 'Yearly'],
      ['@daily', 'Daily at 00:00'],
      ['@hourly', 'Every hour'],
      ['0 0 3 * * *', 'Daily at 03:00'],
      ['0 0 1-7 * 1', 'Cron: 0 0 1-7 * 1'],
    ];
    for (const [cron, words] of cases) assert.equal(describeSchedule(cron), words, cron);
  });
});

describe('JSON Schema export', () => {
  test('describes the assets and their fields for editors', () => {
    const schema = policyJsonSchema() as {
      properties: Record<string, { additionalProperties?: { properties?: Record<string, unknown> } }>;
      additionalProperties?: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    const asset = schema.properties.assets.additionalProperties?.properties ?? {};
    for (const field of [
      'data',
      'storage',
      'location',
      'category',
      'use',
      'notes',
      'source',
      'schedule',
      'rpo',
      'retention',
      'repository',
      'copies',
      'backup',
    ])
      assert.ok(field in asset, field);
    assert.ok(JSON.stringify(schema).includes('"const":"postgres"'));
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(schema)));
  });
});
