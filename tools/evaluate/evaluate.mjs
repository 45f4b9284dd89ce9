// Face / non-face accuracy of BlazeFace-style ONNX detectors on the LFW subset that Debian's python3-skimage
// ships (docs/onnx.md). Usage: node evaluate.mjs [--json] [--data lfw_subset.npy] MODEL.onnx [MODEL.onnx ...]
//
// Preprocessing (shared/reference/zoo.md): each 25x25 grey image in [0, 1] is resized to the model's input
// size with bilinear interpolation (half-pixel centres, edge pixels clamped: OpenCV INTER_LINEAR and
// PyTorch align_corners=False), replicated to RGB, scaled to [-1, 1] and fed as NHWC float32. An image counts
// as "face" when sigmoid(max logit over the score outputs) > 0.5, i.e. the max logit is > 0; the score
// outputs are those whose last dimension is 1. The first 100 images are faces, the last 100 are not.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

// run.sh installs the pinned onnxruntime-node under tools/data/evaluate (gitignored) and passes --modules.
let ort;

const DEFAULT_DATA = '/usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy';

function fail(message) {
  process.stderr.write(`evaluate: error: ${message}\n`);
  process.exit(2);
}

// A little-endian float64 C-order .npy of shape (n, h, w).
function readNpy(path) {
  let buf;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    fail(`${path}: cannot read (${e.code}); install python3-skimage or pass --data`);
  }
  if (buf.length < 10 || buf.toString('latin1', 1, 6) !== 'NUMPY') fail(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'descr': '<f8'") || !header.includes("'fortran_order': False"))
    fail(`${path}: expected little-endian float64 in C order, got ${header.trim()}`);
  const shape = header.match(/'shape': \((\d+), (\d+), (\d+)\)/);
  if (!shape) fail(`${path}: expected a 3-D array, got ${header.trim()}`);
  const [n, h, w] = shape.slice(1).map(Number);
  const offset = start + headerLen;
  if (buf.length !== offset + n * h * w * 8) fail(`${path}: expected ${n * h * w * 8} data bytes`);
  const values = new Float64Array(n * h * w);
  for (let i = 0; i < values.length; ++i) values[i] = buf.readDoubleLE(offset + 8 * i);
  return { n, h, w, values };
}

// Bilinear resize of one grey image with half-pixel centres and clamped edges.
function resizeBilinear(src, h, w, outH, outW) {
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; ++y) {
    const sy = Math.min(Math.max((y + 0.5) * (h / outH) - 0.5, 0), h - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, h - 1), fy = sy - y0;
    for (let x = 0; x < outW; ++x) {
      const sx = Math.min(Math.max((x + 0.5) * (w / outW) - 0.5, 0), w - 1);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, w - 1), fx = sx - x0;
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

async function evaluate(modelPath, data) {
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (e) {
    fail(`${modelPath}: onnxruntime cannot load it: ${e.message}`);
  }
  const inputName = session.inputNames[0];
  // onnxruntime-node does not expose input shapes; BlazeFace front is 1x128x128x3. --size overrides.
  const size = data.size;
  const scoreOutputs = [];
  const faces = Math.floor(data.n / 2);
  let faceHits = 0, nonFaceHits = 0;
  for (let i = 0; i < data.n; ++i) {
    const img = data.values.subarray(i * data.h * data.w, (i + 1) * data.h * data.w);
    const resized = resizeBilinear(img, data.h, data.w, size, size);
    const nhwc = new Float32Array(size * size * 3);
    for (let p = 0; p < size * size; ++p) {
      const v = resized[p] * 2 - 1;
      nhwc[3 * p] = nhwc[3 * p + 1] = nhwc[3 * p + 2] = v;
    }
    const result = await session.run({ [inputName]: new ort.Tensor('float32', nhwc, [1, size, size, 3]) });
    if (scoreOutputs.length === 0) {
      for (const name of session.outputNames) {
        const dims = result[name].dims;
        if (dims[dims.length - 1] === 1) scoreOutputs.push(name);
      }
      if (scoreOutputs.length === 0) fail(`${modelPath}: no score output (an output whose last dimension is 1)`);
    }
    let maxLogit = -Infinity;
    for (const name of scoreOutputs) for (const v of result[name].data) maxLogit = Math.max(maxLogit, v);
    const face = 1 / (1 + Math.exp(-maxLogit)) > 0.5;
    if (i < faces) faceHits += face ? 1 : 0;
    else nonFaceHits += face ? 0 : 1;
  }
  return {
    model: modelPath,
    images: data.n,
    faces_correct: faceHits,
    faces: faces,
    non_faces_correct: nonFaceHits,
    non_faces: data.n - faces,
    accuracy_percent: (100 * (faceHits + nonFaceHits)) / data.n,
  };
}

async function main() {
  const args = process.argv.slice(2);
  let json = false, dataPath = DEFAULT_DATA, size = 128, modules = path.join(import.meta.dirname ?? '.', 'node_modules');
  const models = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--json') json = true;
    else if (args[i] === '--data') dataPath = args[++i];
    else if (args[i] === '--size') size = Number(args[++i]);
    else if (args[i] === '--modules') modules = args[++i];
    else if (args[i].startsWith('-')) fail(`unknown option ${args[i]}`);
    else models.push(args[i]);
  }
  if (models.length === 0 || !(size > 0)) fail('usage: evaluate.mjs [--json] [--data lfw_subset.npy] [--size 128] MODEL.onnx...');
  try {
    ort = createRequire(path.join(path.resolve(modules), 'package.json'))('onnxruntime-node');
  } catch (e) {
    fail(`onnxruntime-node not found under ${modules}: run tools/evaluate/run.sh (it runs npm ci)`);
  }
  const data = { ...readNpy(dataPath), size };
  const rows = [];
  for (const m of models) rows.push(await evaluate(m, data));
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  for (const r of rows)
    process.stdout.write(`${r.model}: accuracy ${r.accuracy_percent.toFixed(1)} % ` +
                         `(faces ${r.faces_correct}/${r.faces}, non-faces ${r.non_faces_correct}/${r.non_faces})\n`);
}

main();
