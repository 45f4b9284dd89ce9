// Runs two ONNX classifiers with onnxruntime-node on the same deterministic 1x3xSxS input and prints, as
// JSON, the largest absolute difference of their outputs and the largest absolute output of the first
// (docs/onnx.md, "Exported models in onnxruntime"). Usage:
//   node tools/zoo/ort_compare.mjs --modules tools/data/evaluate/node_modules ORIGINAL.onnx EXPORTED.onnx [SIZE]
import path from 'node:path';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const at = args.indexOf('--modules');
if (at < 0 || args.length < at + 4) {
  process.stderr.write('ort_compare: usage: --modules DIR ORIGINAL.onnx EXPORTED.onnx [SIZE]\n');
  process.exit(2);
}
const ort = createRequire(path.resolve(args[at + 1], 'x.js'))('onnxruntime-node');
const [original, exported, sizeText] = args.slice(at + 2);
const size = Number(sizeText || 224);
// A fixed pseudo-random image in [-1, 1] (a linear congruential generator: the same bits on every machine).
const input = new Float32Array(3 * size * size);
let state = 12345;
for (let i = 0; i < input.length; ++i) {
  state = (state * 1103515245 + 12345) % 2147483648;
  input[i] = state / 1073741824 - 1;
}
async function run(file) {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, size, size]) };
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data;
}
const a = await run(original);
const b = await run(exported);
let diff = 0, scale = 0;
for (let i = 0; i < a.length; ++i) {
  diff = Math.max(diff, Math.abs(a[i] - b[i]));
  scale = Math.max(scale, Math.abs(a[i]));
}
process.stdout.write(JSON.stringify({ outputs: a.length, max_abs_diff: diff, max_abs_output: scale }) + '\n');
