/** `trm info DIR`: the config, derived sizes and what the backend picked (ISA, threads). */
import { loadModel, supportedIsas } from '../index';
import { Command, LOAD_FLAGS, loadOptions } from './common';

export const infoCommand: Command = {
  usage: '  trm info DIR                      config, sizes and the ISA the native backend picks',
  flags: LOAD_FLAGS,
  loadsModel: true,
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const model = await loadModel(dir, loadOptions(values));
    const { config, dimensions } = model;
    console.log(JSON.stringify({ dir, config, dimensions, ...model.info, supportedIsas: supportedIsas() }, null, 2));
    model.dispose();
  },
};
