/**
 * Feedback on a model's answers: examples `{ input, label }` in the model task's text form
 * (read by the task's parser, as analyze reads inputs) or as tokens, checked against the
 * served version's shape and vocabulary, and appended to the model's feedback set in the
 * store. A fine-tune job trains on that set (training-plan.ts).
 */
import { InputError } from '../../errors';
import { IGNORE_LABEL } from '../../tasks/task';
import { analyzeTokens } from '../analyze';
import type { ModelRepository } from '../repository';
import type { FeedbackRequestType } from './schemas';
import type { FeedbackRow, JobStore } from './store';

export async function addFeedback(store: JobStore, repository: ModelRepository, model: string, body: FeedbackRequestType): Promise<{ added: number; total: number }> {
  const rows = await repository.use(model, undefined, async (version) => {
    const { seq_len: seqLen, vocab_size: vocab, num_puzzle_identifiers: ids } = version.config;
    return body.examples.map((example, i): FeedbackRow => {
      const tokens = (value: string | number[], field: string, labels: boolean): number[] => {
        const out = Array.from(analyzeTokens(version, value, field));
        if (out.length !== seqLen) throw new InputError('wrong length', { field, value: out.length, expected: `${seqLen} tokens` });
        out.forEach((t, k) => {
          if (!(Number.isInteger(t) && ((t >= 0 && t < vocab) || (labels && t === IGNORE_LABEL)))) {
            throw new InputError('token outside the vocabulary', { field: `${field}[${k}]`, value: t, expected: `an integer in [0, ${vocab})${labels ? ` or ${IGNORE_LABEL}` : ''}` });
          }
        });
        return out;
      };
      const inputs = tokens(example.input, `examples[${i}].input`, false);
      const labels = tokens(example.label, `examples[${i}].label`, true);
      if (labels.every((t) => t === IGNORE_LABEL)) throw new InputError('nothing labelled', { field: `examples[${i}].label`, expected: 'at least one position that is not -100' });
      const puzzleIdentifier = example.puzzleIdentifier ?? 0;
      if (puzzleIdentifier >= ids) throw new InputError('invalid puzzle identifier', { field: `examples[${i}].puzzleIdentifier`, value: puzzleIdentifier, expected: `an integer in [0, ${ids})` });
      return { inputs, labels, puzzleIdentifier };
    });
  });
  const total = store.addFeedback(model, rows);
  return { added: rows.length, total };
}
