/**
 * `trm publish MODEL_DIR --repository DIR --name NAME`: the model directory becomes the next
 * version of NAME in the repository (copied in whole, then renamed into place), optionally
 * with an alias pointing at it; then retention removes old versions no alias names. A server
 * already serving the repository picks the new version up on `POST
 * /v2/repository/models/NAME/load`.
 */
import * as path from 'node:path';
import { OptionError } from '../errors';
import { DEFAULT_KEEP_VERSIONS } from '../serve/aliases';
import { ModelRepository } from '../serve/repository';
import { Command, intFlag, stringFlag } from './common';

export const publishCommand: Command = {
  usage: `  trm publish MODEL_DIR --repository DIR --name NAME [--alias current] [--keep N]
                                    add MODEL_DIR to a serving repository as NAME's next version
    --alias A        point alias A (e.g. current) at the new version
    --keep N         versions kept besides current and aliased ones (default ${DEFAULT_KEEP_VERSIONS})`,
  flags: { repository: { type: 'string' }, name: { type: 'string' }, alias: { type: 'string' }, keep: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'MODEL_DIR' },
  async run([source], values) {
    const root = stringFlag(values, 'repository');
    const name = stringFlag(values, 'name');
    if (root === undefined) throw new OptionError('publish needs the repository', { field: '--repository', expected: 'a directory (created if missing)' });
    if (name === undefined) throw new OptionError('publish needs a model name', { field: '--name', expected: 'a name from [A-Za-z0-9._-]' });
    const repository = new ModelRepository({ root, keepVersions: intFlag(values, 'keep', 0) });
    const { version, deleted } = await repository.publish(source, { name, alias: stringFlag(values, 'alias') });
    const alias = stringFlag(values, 'alias');
    console.log(`published ${path.resolve(source)} as ${name} version ${version}${alias ? ` (${alias})` : ''} in ${path.resolve(root)}`);
    if (deleted.length > 0) console.log(`retention removed version${deleted.length > 1 ? 's' : ''} ${deleted.join(', ')}`);
  },
};
