import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseMachines } from './config.js';

describe('TRAINYARD_K8S_MACHINES', () => {
  const preset = { 'gpu-a100-1x': { resources: { limits: { 'nvidia.com/gpu': '1' } }, nodeSelector: { 'gpu-type': 'a100' } } };

  it('takes a JSON object of presets, or the path of a JSON file', () => {
    expect(loadConfig({}, { TRAINYARD_K8S_MACHINES: JSON.stringify(preset) }).k8sMachines).toEqual(preset);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-machines-'));
    try {
      const file = path.join(dir, 'machines.json');
      fs.writeFileSync(file, JSON.stringify(preset));
      expect(loadConfig({}, { TRAINYARD_K8S_MACHINES: file }).k8sMachines).toEqual(preset);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(loadConfig({}, {}).k8sMachines).toBeUndefined();
  });

  it('says what is wrong with a value it cannot use', () => {
    expect(() => loadConfig({}, { TRAINYARD_K8S_MACHINES: '{"gpu": 1' })).toThrow(/invalid TRAINYARD_K8S_MACHINES='\{"gpu": 1': not valid JSON/);
    expect(() => parseMachines('{"gpu-a100-1x": "big"}', () => '')).toThrow("machine preset 'gpu-a100-1x' must be an object (a pod layer: resources, nodeSelector, tolerations…)");
    expect(() => parseMachines('/no/such/file.json', (f) => fs.readFileSync(f, 'utf8'))).toThrow(/ENOENT/);
  });
});
