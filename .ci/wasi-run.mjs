// A minimal WASI preview1 runner on Node.js (no wasmtime needed), used as the cargo `runner`
// of the wasm32-wasip1 tests: node .ci/wasi-run.mjs file.wasm [args...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args],
  env: process.env,
  preopens: { '.': process.cwd() },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
let code;
try {
  code = wasi.start(instance);
} catch (e) {
  // a Rust panic under panic=abort ends in an `unreachable` trap
  console.error(`wasm trap: ${e}`);
  code = 101;
}
process.exitCode = code ?? 0;
