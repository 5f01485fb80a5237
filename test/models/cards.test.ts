/**
 * The shipped models' cards against `trm eval` (slow: TRM_SLOW=1, `npm run test:slow`). Each
 * card (models/<name>/README.md) states the held-out exact accuracy `trm eval DIR --count N
 * --json` measured when the model was trained, as "| fixed (...) | 99.6% (996/1000) |" and
 * "| adaptive (...) | ... |" rows. This runs the same command and checks the counts.
 *
 * Every card was measured with the avx512 kernel table (each card says AVX-512). A table
 * computes the same bits on every CPU that runs it (IEEE FMAs in a fixed order, independent
 * of the thread count: test/native/threading.test.ts), so the check pins that table and
 * demands the card's counts exactly, whatever the machine. Another table sums in another
 * order and may flip an answer the model is unsure of, so where this CPU has no avx512 the
 * check is skipped, saying so, rather than passed with a guessed tolerance.
 *
 * A codec model (a codec.json beside its weights) is scored on labelled data, not generated
 * examples: its card's reproducing block has the `trm generate --dataset ...` lines that write
 * the training and held-out files and a `trm eval models/<name> --data FILE` line; this runs
 * those generate lines in a temporary directory and evaluates on FILE.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { supportedIsas } from '../../lib';
import { cliIsFresh, trmAsync } from '../helpers/cli';
import { REPO_ROOT } from '../helpers/paths';

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/tasks', 'lib/evaluate.ts']);
if (slow && !built) console.log('skipping the model-card check: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

/** The kernel table the cards were measured with. */
const CARD_ISA = 'avx512';
const runsCardTable = supportedIsas().includes(CARD_ISA);
if (slow && !runsCardTable) console.log(`skipping the model-card check: the cards were measured with the ${CARD_ISA} table, which this CPU does not run`);

interface CardClaim { fixed: [number, number]; adaptive: [number, number]; text: string }

/** The "(correct/count)" of the card's fixed and adaptive rows. */
function readClaim(card: string): CardClaim | undefined {
  const row = (label: string): [number, number] | undefined => {
    const m = new RegExp(`^\\| ${label}[^|]*\\| [0-9.]+% \\((\\d+)/(\\d+)\\)`, 'm').exec(card);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  };
  const fixed = row('fixed'), adaptive = row('adaptive');
  return fixed && adaptive ? { fixed, adaptive, text: card } : undefined;
}

/**
 * A codec model's held-out file: runs the card's `trm generate --dataset` lines in a new
 * temporary directory (they name their files relative to it) and returns the file the card's
 * `trm eval models/<name> --data FILE` line scores.
 */
async function codecHeldOutFile(name: string, card: string): Promise<string> {
  const generate = [...card.matchAll(/^trm generate (--dataset .*)$/gm)].map((m) => m[1].trim().split(/\s+/));
  const evalData = new RegExp(`^trm eval models/${name} --data (\\S+)`, 'm').exec(card);
  if (generate.length === 0 || !evalData) throw new Error(`${name}: the card has no "trm generate --dataset" line or no "trm eval models/${name} --data FILE" line`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `trm-card-${name}-`));
  for (const args of generate) {
    const r = await trmAsync(['generate', ...args], { cwd: tmp });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }
  return path.join(tmp, evalData[1]);
}

const modelsDir = path.join(REPO_ROOT, 'models');
const cards = fs.readdirSync(modelsDir)
  .map((name) => ({ name, card: path.join(modelsDir, name, 'README.md') }))
  .filter(({ card }) => fs.existsSync(card))
  .map(({ name, card }) => {
    const text = fs.readFileSync(card, 'utf8');
    return { name, text, codec: fs.existsSync(path.join(modelsDir, name, 'codec.json')), claim: readClaim(text) };
  })
  .filter((c): c is { name: string; text: string; codec: boolean; claim: CardClaim } => c.claim !== undefined);

describe.skipIf(!slow || !built || !runsCardTable)('shipped models reproduce their cards (slow)', () => {
  it('finds the six trained models\' cards', () => {
    expect(cards.map((c) => c.name).sort()).toEqual(['compliance', 'compliance-records', 'intent', 'maze', 'sudoku-4x4', 'sudoku-9x9']);
  });

  for (const { name, text, codec, claim } of cards) {
    it(`${name}: trm eval --count ${claim.fixed[1]}${codec ? ' --data (the card\'s held-out file)' : ''} --isa ${CARD_ISA} gives the card's exact counts`, async () => {
      expect(claim.text, 'the card names the table it was measured with').toMatch(/AVX-512/);
      const heldOut = codec ? await codecHeldOutFile(name, text) : undefined;
      const data = heldOut === undefined ? [] : ['--data', heldOut];
      const r = await trmAsync(['eval', path.join('models', name), '--count', String(claim.fixed[1]), ...data, '--json', '--threads', '2', '--isa', CARD_ISA]);
      if (heldOut !== undefined) fs.rmSync(path.dirname(heldOut), { recursive: true, force: true });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.isa).toBe(CARD_ISA);
      console.log(`${name} (${result.isa}): fixed ${result.fixed.exactCorrect}/${result.fixed.count} (card ${claim.fixed[0]}), ` +
        `adaptive ${result.adaptive.exactCorrect}/${result.adaptive.count} (card ${claim.adaptive[0]})`);
      expect(result.fixed.count).toBe(claim.fixed[1]);
      expect(result.fixed.exactCorrect).toBe(claim.fixed[0]);
      expect(result.adaptive.exactCorrect).toBe(claim.adaptive[0]);
    }, 600_000);
  }
});
