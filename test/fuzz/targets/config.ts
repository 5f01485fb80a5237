/**
 * The config parser (lib/model/directory.ts parseConfigJson: JSON.parse and parseConfig) and
 * what a config implies (modelDimensions, the tensor table). Seeds: every shipped and golden
 * config.json. Edits: structured (a field replaced, deleted or added with a hostile value)
 * and byte-level on the text.
 */
import fc from 'fast-check';
import { modelDimensions } from '../../../lib/model/config';
import { parseConfigJson } from '../../../lib/model/directory';
import { expectedTensors } from '../../../lib/model/weights';
import { mutatedBytes, mutatedJson } from '../mutate';
import { modelSeeds } from '../seeds';
import type { FuzzTarget } from '../target';

export const configTarget: FuzzTarget<string> = {
  name: 'config',
  share: 0.425,
  corpus: 'models/*/config.json and ../shared/golden/*/config.json',
  arbitrary() {
    const texts = modelSeeds().map((s) => s.configText);
    return fc.oneof(
      { weight: 3, arbitrary: mutatedJson(texts.map((t) => JSON.parse(t))) },
      { weight: 1, arbitrary: mutatedBytes(texts.map((t) => Buffer.from(t))).map((b) => b.toString('utf8')) },
    );
  },
  run(text) {
    const config = parseConfigJson(text, 'fuzz/config.json');
    modelDimensions(config);
    expectedTensors(config);
  },
  bytes: (text) => text,
};
