import { setFlagsFromString } from 'node:v8';

/**
 * Keeps WebAssembly in V8's baseline compiler (Liftoff) for the rest of the process.
 *
 * undici parses HTTP answers with llhttp compiled to WebAssembly. Once that code is warm, V8
 * recompiles it with its optimising compiler on a worker thread, and that compilation holds
 * about 30 MiB for a moment: it was the peak RSS of `streamai upload` (1 GiB: multipart
 * 125 → 93 MiB, tus 115 → 92 MiB; see docs/BENCHMARKS.md). The answers an upload reads are a
 * few hundred bytes and the file's bytes never pass through the parser, so the optimised code
 * would buy nothing. V8 reads the flag when it compiles a module: call this before the
 * process's first HTTP request (a module compiled earlier would keep its tiering).
 */
export function keepWasmAtBaselineTier(): void {
  setFlagsFromString('--liftoff-only');
}
