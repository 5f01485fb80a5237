#!/usr/bin/env node
/**
 * The `trm` command line. Each command lives in lib/cli/<command>.ts as a thin shell over
 * the library API, so what it prints is what a service would get; this file picks the
 * command, parses its flags (a flag the command does not take is an error) and turns
 * errors into one line and exit code 1.
 */
import { parseArgs } from 'node:util';
import { OptionError, TrmError } from './errors';
import { LOAD_USAGE, STOP_USAGE } from './cli/common';
import type { Command, FlagValues } from './cli/common';
import { demoCommand } from './cli/demo';
import { evalCommand } from './cli/eval';
import { exportOnnxCommand } from './cli/export-onnx';
import { generateCommand } from './cli/generate';
import { importCommand } from './cli/import';
import { infoCommand } from './cli/info';
import { quantizeCommand } from './cli/quantize';
import { publishCommand } from './cli/publish';
import { runCommand } from './cli/run';
import { serveCommand } from './cli/serve';
import { workerCommand } from './cli/worker';
import { solveCommand } from './cli/solve';
import { trainCommand } from './cli/train';

const COMMANDS: Record<string, Command> = {
  info: infoCommand,
  run: runCommand,
  'export-onnx': exportOnnxCommand,
  quantize: quantizeCommand,
  generate: generateCommand,
  eval: evalCommand,
  solve: solveCommand,
  demo: demoCommand,
  train: trainCommand,
  import: importCommand,
  serve: serveCommand,
  worker: workerCommand,
  publish: publishCommand,
};

const USAGE = `usage:\n${Object.values(COMMANDS).map((c) => c.usage).join('\n')}\n${LOAD_USAGE}\n${STOP_USAGE}`;

function commandUsage(command: Command): string {
  return `usage:\n${command.usage}${command.loadsModel ? `\n${LOAD_USAGE}` : ''}${command.stopping ? `\n${STOP_USAGE}` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`trm: unknown command ${name}\n${USAGE}`);
    return 2;
  }
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...command.flags, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    // node:util reports unknown flags and missing values as plain TypeErrors; name the command's flags instead.
    throw new OptionError(`trm ${name}: ${(e as Error).message.split('\n')[0].split('. To specify')[0]}`, {
      field: 'flags', expected: Object.keys(command.flags).map((f) => `--${f}`).join(', ') || 'no flags',
    });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(commandUsage(command));
    return 0;
  }
  const { min, max, names } = command.positionals;
  if (positionals.length < min || positionals.length > max) {
    console.error(`trm ${name}: expected ${max === 0 ? 'no arguments' : names} but got ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n${commandUsage(command)}`);
    return 2;
  }
  await command.run(positionals, values);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof TrmError ? `trm: ${e.name}: ${e.message}` : e);
    process.exitCode = 1;
  },
);
