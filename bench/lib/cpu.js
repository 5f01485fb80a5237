'use strict';
const fs = require('node:fs');
const os = require('node:os');

// The CPU, named for the results file: vendor, model name, family and model from
// /proc/cpuinfo (a VM may hide the marketing name, never the family and model).
function cpuIdentity() {
  const cpu = os.cpus()[0].model.trim();
  let family = '', model = '', flags = '';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1] ?? '';
    model = /^model\s*:\s*(\d+)/m.exec(info)?.[1] ?? '';
    flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  } catch { /* not Linux: the model name alone */ }
  const words = cpu.toLowerCase().replace(/\((r|tm)\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const slug = `${words}${family ? `-f${family}m${model}` : ''}`;
  const features = ['avx512_bf16', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'amx_bf16', 'amx_int8'].filter((f) => flags.split(' ').includes(f));
  return { cpu, family, model, slug, features };
}

module.exports = { cpuIdentity };
