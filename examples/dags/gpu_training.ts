/**
 * The GPU example: a small PyTorch MLP on one GPU. The first task checks for a GPU and for
 * torch; without them it exits with the skip code, and training is skipped with it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dag } from 'trainyard';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const d = dag('gpu_training', {
  description: 'Train a digits MLP with PyTorch on one GPU (skipped where there is no GPU or torch)',
  tags: ['ml', 'example', 'gpu'],
});

const check = d.command('check_gpu', {
  command: 'python3',
  args: [
    '-c',
    [
      'import sys',
      'try:',
      '    import torch',
      'except Exception as e:  # missing, or installed without its CUDA libraries',
      '    print(f"no usable PyTorch here ({type(e).__name__}: {e}): skipping the GPU example"); sys.exit(99)',
      'if not torch.cuda.is_available():',
      '    print("no CUDA GPU here: skipping the GPU example"); sys.exit(99)',
      'print("GPU:", torch.cuda.get_device_name(0))',
    ].join('\n'),
  ],
});

d.command('train_torch', {
  command: 'python3',
  args: [path.join(repo, 'examples/scripts/train_torch.py'), '--epochs', '30'],
  resources: { gpu: 1, cpu: 1, memory: '2Gi' },
  image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
}).after(check);

export default d;
