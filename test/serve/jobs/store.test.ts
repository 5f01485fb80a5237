/** The job store on a real SQLite file: WAL mode, versioned schema, the job life cycle's transitions, datasets and feedback. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, ModelFormatError, NotFoundError } from '../../../lib/errors';
import { JobStore, SCHEMA_VERSION, type JobSpec } from '../../../lib/serve/jobs/store';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function root(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-jobs-store-'));
  dirs.push(d);
  return d;
}
const spec: JobSpec = { kind: 'train', model: 'm', task: 'sudoku4', recipe: { steps: 10 }, evalCount: 8, evalEvery: 5, publish: true, promote: 'always' };

describe('JobStore', () => {
  it('creates DIR/.trm/jobs.db in WAL mode at the current schema version, and reopens it', () => {
    const dir = root();
    const store = new JobStore(dir);
    const job = store.createJob(spec);
    store.close();
    const db = new Database(path.join(dir, '.trm', 'jobs.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const again = new JobStore(dir);
    expect(again.job(job.id).spec).toEqual(spec);
    again.close();
  });

  it('refuses a file from a newer schema rather than misreading it', () => {
    const dir = root();
    fs.mkdirSync(path.join(dir, '.trm'));
    const db = new Database(path.join(dir, '.trm', 'jobs.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new JobStore(dir)).toThrow(ModelFormatError);
  });

  it('moves jobs through queued, running and an end, in submission order', () => {
    const store = new JobStore(root());
    const a = store.createJob(spec), b = store.createJob(spec), c = store.createJob(spec);
    expect(store.queued().map((j) => j.id)).toEqual([a.id, b.id, c.id]);
    expect(store.claim(a.id)!.status).toBe('running');
    expect(store.claim(a.id)).toBeUndefined();
    expect(store.cancel(b.id).status).toBe('cancelled');
    expect(store.claim(b.id)).toBeUndefined();
    expect(store.cancel(a.id)).toMatchObject({ status: 'running', cancelRequested: true });
    store.finish(a.id, 'cancelled');
    expect(() => store.cancel(a.id)).toThrow(ConflictError);
    expect(store.claim(c.id)!.attempts).toBe(1);
    expect(store.requeueRunning()).toEqual([c.id]);
    expect(store.claim(c.id)!.attempts).toBe(2);
    expect(store.listJobs({ status: 'cancelled' }).map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    expect(() => store.job('job-none')).toThrow(NotFoundError);
    store.close();
  });

  it('keeps feedback per model in the order it came', () => {
    const store = new JobStore(root());
    expect(store.addFeedback('m', [{ inputs: [1, 2], labels: [3, 4], puzzleIdentifier: 0 }])).toBe(1);
    expect(store.addFeedback('m', [{ inputs: [5, 6], labels: [7, -100], puzzleIdentifier: 1 }])).toBe(2);
    expect(store.addFeedback('other', [{ inputs: [0], labels: [0], puzzleIdentifier: 0 }])).toBe(1);
    expect(store.feedback('m')).toEqual([{ inputs: [1, 2], labels: [3, 4], puzzleIdentifier: 0 }, { inputs: [5, 6], labels: [7, -100], puzzleIdentifier: 1 }]);
    store.close();
  });
});
