/** `trm info DIR`: the config, derived sizes and what the backend picked (ISA, threads). */
import { loadModel, supportedIsas } from '../index';
import { readModelDirectory } from '../model/directory';
import { Command, LOAD_FLAGS, loadOptions } from './common';

export const infoCommand: Command = {
  usage: '  trm info DIR                      config, sizes, the ISA the native backend picks and the precision of the file',
  flags: LOAD_FLAGS,
  loadsModel: true,
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const model = await loadModel(dir, loadOptions(values));
    const { config, dimensions } = model;
    // How the file stores the weights, beside `precision`, the arithmetic the model runs in.
    const { storage } = readModelDirectory(dir);
    console.log(JSON.stringify({
      dir, config, dimensions, ...model.info, filePrecision: storage.precision, quantization: storage.quantization, supportedIsas: supportedIsas(),
    }, null, 2));
    model.dispose();
  },
};
