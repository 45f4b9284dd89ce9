// Runs an ONNX model in onnxruntime-node on one float32 .npy input and writes every graph output as
// OUTDIR/<index>.npy plus OUTDIR/names.json (the reference of tests/runtime/onnx_equivalence.py).
// Usage: node ort-outputs.mjs --modules DIR [--nhwc] MODEL.onnx INPUT.npy OUTDIR
// --nhwc: the input file is NCHW and the model reads NHWC (TensorFlow exports); it is transposed first.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

function fail(message) {
  process.stderr.write(`ort-outputs: error: ${message}\n`);
  process.exit(2);
}

function readNpyFloat32(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') fail(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False"))
    fail(`${file}: expected little-endian float32 in C order`);
  const dims = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const offset = start + headerLen;
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + buf.length));
  return { dims, values };
}

function writeNpyFloat32(file, dims, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

async function main() {
  const args = process.argv.slice(2);
  let modules = null, nhwc = false;
  const rest = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--modules') modules = args[++i];
    else if (args[i] === '--nhwc') nhwc = true;
    else rest.push(args[i]);
  }
  if (!modules || rest.length !== 3) fail('usage: ort-outputs.mjs --modules DIR [--nhwc] MODEL.onnx INPUT.npy OUTDIR');
  const ort = createRequire(path.join(path.resolve(modules), 'package.json'))('onnxruntime-node');
  const [model, inputFile, outDir] = rest;
  let { dims, values } = readNpyFloat32(inputFile);
  if (nhwc) {
    const [n, c, h, w] = dims;
    const t = new Float32Array(values.length);
    for (let b = 0; b < n; ++b)
      for (let ch = 0; ch < c; ++ch)
        for (let p = 0; p < h * w; ++p) t[(b * h * w + p) * c + ch] = values[(b * c + ch) * h * w + p];
    values = t;
    dims = [n, h, w, c];
  }
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', values, dims) });
  fs.mkdirSync(outDir, { recursive: true });
  const names = [];
  session.outputNames.forEach((name, i) => {
    writeNpyFloat32(path.join(outDir, `${i}.npy`), result[name].dims, result[name].data);
    names.push(name);
  });
  fs.writeFileSync(path.join(outDir, 'names.json'), JSON.stringify(names));
}

main();
