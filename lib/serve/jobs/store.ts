/**
 * The job store: one SQLite file (`DIR/.trm/jobs.db`, WAL mode, so the server's readers never
 * wait on the runner's writes and a crash leaves the last committed state) holding the jobs,
 * the uploaded datasets and each model's feedback. Every write is one statement or one
 * transaction; a job's checkpoints are files in its own folder (`DIR/.trm/jobs/<id>/`), the
 * store only says where a job stands.
 *
 * The schema is versioned with SQLite's `user_version`: MIGRATIONS[i] takes a file from
 * version i to i + 1, each in a transaction, so an older file is brought up to date on open
 * and a newer one (from a later trm-node) is refused rather than misread.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { ConflictError, ModelFormatError, NotFoundError } from '../../errors';

export const STATE_DIR = '.trm';
export const JOBS_DB = 'jobs.db';

export type JobKind = 'train' | 'fine-tune';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export type PromoteRule = 'never' | 'always' | 'if-better';

/** What a job was asked to do, checked (see spec.ts); stored as JSON. */
export interface JobSpec {
  kind: JobKind;
  model: string;
  /** Exactly one of task and dataset. */
  task?: string;
  taskOptions?: Record<string, unknown>;
  trainCount?: number;
  dataset?: string;
  recipe: Record<string, number>;
  evalCount: number;
  evalEvery: number;
  publish: boolean;
  promote: PromoteRule;
  /** fine-tune: the version it starts from (the one served when it was submitted). */
  baseVersion?: number;
  /** fine-tune: original training examples replayed per feedback example. */
  replay?: number;
}

export interface Accuracy { exact: number; correct: number; count: number }

export interface JobProgress {
  step: number;
  total: number;
  loss: number | null;
  /** Mean ACT steps of the examples that halted lately. */
  actSteps: number | null;
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  /** Exact accuracy (fixed steps, the official eval) at the last evaluation, per held-out set. */
  heldOut: { step: number; sets: Record<string, Accuracy> } | null;
  /** The checkpoint step the latest start resumed from (null: it started from step 0). */
  resumedFrom: number | null;
}

export interface JobResult {
  /** The version published, or null (publish false, or cancelled / failed before). */
  version: number | null;
  promoted: boolean;
  /** Why `current` moved or did not. */
  promoteReason: string | null;
  /** Final held-out accuracy per set, and the base version's on the same sets. */
  heldOut: Record<string, Accuracy> | null;
  baseline: Record<string, Accuracy> | null;
  trainingSeconds: number | null;
  deleted: number[];
}

export interface JobRecord {
  id: string;
  seq: number;
  kind: JobKind;
  model: string;
  status: JobStatus;
  spec: JobSpec;
  progress: JobProgress | null;
  result: JobResult | null;
  error: string | null;
  cancelRequested: boolean;
  /** Times the job was started (a resume after a restart counts again). */
  attempts: number;
  created: string;
  started: string | null;
  finished: string | null;
  /** Bumped on every change, for the event stream. */
  revision: number;
}

export interface DatasetRecord {
  id: string;
  name: string | null;
  task: string | null;
  count: number;
  seqLen: number;
  vocabSize: number;
  numPuzzleIdentifiers: number;
  sha256: string;
  bytes: number;
  created: string;
}

export interface FeedbackRow { inputs: number[]; labels: number[]; puzzleIdentifier: number }

const MIGRATIONS: string[] = [
  `CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL,
     model TEXT NOT NULL,
     status TEXT NOT NULL,
     spec TEXT NOT NULL,
     progress TEXT,
     result TEXT,
     error TEXT,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     created TEXT NOT NULL,
     started TEXT,
     finished TEXT,
     revision INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX jobs_status ON jobs (status, seq);
   CREATE INDEX jobs_model ON jobs (model, seq);
   CREATE TABLE datasets (
     id TEXT PRIMARY KEY,
     name TEXT,
     task TEXT,
     count INTEGER NOT NULL,
     seq_len INTEGER NOT NULL,
     vocab_size INTEGER NOT NULL,
     num_puzzle_identifiers INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     created TEXT NOT NULL
   );
   CREATE TABLE feedback (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     inputs TEXT NOT NULL,
     labels TEXT NOT NULL,
     puzzle_identifier INTEGER NOT NULL,
     created TEXT NOT NULL
   );
   CREATE INDEX feedback_model ON feedback (model, seq);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

interface JobRow {
  seq: number; id: string; kind: string; model: string; status: string; spec: string; progress: string | null; result: string | null;
  error: string | null; cancel_requested: number; attempts: number; created: string; started: string | null; finished: string | null; revision: number;
}

function toJob(row: JobRow): JobRecord {
  return {
    id: row.id, seq: row.seq, kind: row.kind as JobKind, model: row.model, status: row.status as JobStatus,
    spec: JSON.parse(row.spec) as JobSpec,
    progress: row.progress === null ? null : JSON.parse(row.progress) as JobProgress,
    result: row.result === null ? null : JSON.parse(row.result) as JobResult,
    error: row.error, cancelRequested: row.cancel_requested !== 0, attempts: row.attempts,
    created: row.created, started: row.started, finished: row.finished, revision: row.revision,
  };
}

const now = () => new Date().toISOString();

export class JobStore {
  readonly file: string;
  /** The repository's state directory (`DIR/.trm`). */
  readonly stateDir: string;
  private readonly db: Database.Database;

  constructor(repositoryRoot: string) {
    this.stateDir = path.join(path.resolve(repositoryRoot), STATE_DIR);
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.file = path.join(this.stateDir, JOBS_DB);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    // A second process (a worker, the restarted server) may hold the write lock for a moment.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new ModelFormatError('the job store was written by a newer trm-node', { file: this.file, field: 'user_version', value: version, expected: `at most ${SCHEMA_VERSION}` });
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  /** The folder of a job's files (checkpoints, its data snapshot, the model being published). */
  jobDir(id: string): string {
    return path.join(this.stateDir, 'jobs', id);
  }

  datasetFile(id: string): string {
    return path.join(this.stateDir, 'datasets', `${id}.jsonl`);
  }

  createJob(spec: JobSpec): JobRecord {
    const id = `job-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    this.db.prepare(`INSERT INTO jobs (id, kind, model, status, spec, created) VALUES (?, ?, ?, 'queued', ?, ?)`)
      .run(id, spec.kind, spec.model, JSON.stringify(spec), now());
    return this.job(id);
  }

  findJob(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  job(id: string): JobRecord {
    const job = this.findJob(id);
    if (!job) throw new NotFoundError('unknown job', { field: 'id', value: id, expected: 'an id from POST /v1/jobs or GET /v1/jobs' });
    return job;
  }

  listJobs(filter: { model?: string; status?: JobStatus; limit?: number } = {}): JobRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.model !== undefined) { where.push('model = ?'); args.push(filter.model); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 1000) as JobRow[]).map(toJob);
  }

  /** Jobs waiting to run, oldest first. */
  queued(): JobRecord[] {
    return (this.db.prepare(`SELECT * FROM jobs WHERE status = 'queued' ORDER BY seq`).all() as JobRow[]).map(toJob);
  }

  /**
   * Marks a queued job running, if it still is queued (a cancel, or another worker, may have
   * come first). With `resume`, a job marked running is claimed too: a queue hands a job
   * over only when its last runner is gone. Returns the job, or undefined.
   */
  claim(id: string, options: { resume?: boolean } = {}): JobRecord | undefined {
    const statuses = options.resume ? `('queued', 'running')` : `('queued')`;
    const changed = this.db.prepare(`UPDATE jobs SET status = 'running', started = COALESCE(started, ?), attempts = attempts + 1, revision = revision + 1
      WHERE id = ? AND status IN ${statuses} AND cancel_requested = 0`).run(now(), id).changes;
    return changed === 1 ? this.job(id) : undefined;
  }

  setProgress(id: string, progress: JobProgress): void {
    this.db.prepare('UPDATE jobs SET progress = ?, revision = revision + 1 WHERE id = ?').run(JSON.stringify(progress), id);
  }

  /** Ends a job: succeeded (with its result), failed (with the error) or cancelled. */
  finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', details: { result?: JobResult; error?: string } = {}): JobRecord {
    this.db.prepare('UPDATE jobs SET status = ?, result = COALESCE(?, result), error = ?, finished = ?, revision = revision + 1 WHERE id = ?')
      .run(status, details.result ? JSON.stringify(details.result) : null, details.error ?? null, now(), id);
    return this.job(id);
  }

  /** A running job whose process stopped (a restart, a shutdown) goes back to the queue, keeping its place. */
  requeue(id: string): void {
    this.db.prepare(`UPDATE jobs SET status = 'queued', revision = revision + 1 WHERE id = ? AND status = 'running'`).run(id);
  }

  /** Every job left running by a process that died goes back to the queue; returns their ids. */
  requeueRunning(): string[] {
    return this.db.transaction(() => {
      const ids = (this.db.prepare(`SELECT id FROM jobs WHERE status = 'running' ORDER BY seq`).all() as Array<{ id: string }>).map((r) => r.id);
      this.db.prepare(`UPDATE jobs SET status = 'queued', revision = revision + 1 WHERE status = 'running'`).run();
      return ids;
    }).immediate();
  }

  /**
   * Cancels a job: a queued one at once, a running one when its runner next looks (at its
   * next step). A finished job cannot be cancelled (409).
   */
  cancel(id: string): JobRecord {
    return this.db.transaction(() => {
      const job = this.job(id);
      if (job.status === 'queued') {
        this.db.prepare(`UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished = ?, revision = revision + 1 WHERE id = ?`).run(now(), id);
      } else if (job.status === 'running') {
        this.db.prepare('UPDATE jobs SET cancel_requested = 1, revision = revision + 1 WHERE id = ?').run(id);
      } else {
        throw new ConflictError('the job has already ended', { field: 'id', value: id, expected: `a queued or running job (this one is ${job.status})` });
      }
      return this.job(id);
    }).immediate();
  }

  addDataset(record: DatasetRecord): DatasetRecord {
    this.db.prepare(`INSERT OR IGNORE INTO datasets (id, name, task, count, seq_len, vocab_size, num_puzzle_identifiers, sha256, bytes, created)
      VALUES (@id, @name, @task, @count, @seqLen, @vocabSize, @numPuzzleIdentifiers, @sha256, @bytes, @created)`).run(record);
    return this.dataset(record.id)!;
  }

  dataset(id: string): DatasetRecord | undefined {
    const row = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? toDataset(row) : undefined;
  }

  datasets(): DatasetRecord[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY created, id').all() as Array<Record<string, unknown>>).map(toDataset);
  }

  /** Appends examples to a model's feedback set in one transaction; returns the set's size. */
  addFeedback(model: string, rows: readonly FeedbackRow[]): number {
    const insert = this.db.prepare('INSERT INTO feedback (model, inputs, labels, puzzle_identifier, created) VALUES (?, ?, ?, ?, ?)');
    const created = now();
    this.db.transaction(() => {
      for (const r of rows) insert.run(model, JSON.stringify(r.inputs), JSON.stringify(r.labels), r.puzzleIdentifier, created);
    }).immediate();
    return this.feedbackCount(model);
  }

  feedbackCount(model: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM feedback WHERE model = ?').get(model) as { n: number }).n;
  }

  /** A model's feedback, in the order it came. */
  feedback(model: string): FeedbackRow[] {
    return (this.db.prepare('SELECT inputs, labels, puzzle_identifier FROM feedback WHERE model = ? ORDER BY seq').all(model) as Array<{ inputs: string; labels: string; puzzle_identifier: number }>)
      .map((r) => ({ inputs: JSON.parse(r.inputs) as number[], labels: JSON.parse(r.labels) as number[], puzzleIdentifier: r.puzzle_identifier }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toDataset(row: Record<string, unknown>): DatasetRecord {
  return {
    id: row.id as string, name: row.name as string | null, task: row.task as string | null, count: row.count as number,
    seqLen: row.seq_len as number, vocabSize: row.vocab_size as number, numPuzzleIdentifiers: row.num_puzzle_identifiers as number,
    sha256: row.sha256 as string, bytes: row.bytes as number, created: row.created as string,
  };
}
