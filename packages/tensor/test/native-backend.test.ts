/**
 * What `--backend node` / `node-gpu` says when the native package cannot load: which of the ways it fails (not
 * installed; installed without its binding because its install script did not run; CUDA missing) and what to do.
 * The errors are the ones Node 20 and tfjs-node 4.22 throw (test/install.test.ts sees the first one for real).
 */
import { describe, expect, it } from 'vitest';
import { nativeBackendProblem } from '../src/backend.ts';

/** The error Node throws for a package that is not there. */
function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /p/node_modules/@dept/tensor/dist/backend.js`), { code: 'ERR_MODULE_NOT_FOUND' });
}

describe('why a native backend is missing, in one line', () => {
  it('not installed: how to install it, at the tfjs version dept uses', () => {
    expect(nativeBackendProblem('node', notFound('@tensorflow/tfjs-node'))).toBe(
      '@tensorflow/tfjs-node is not installed; install it with `npm install @tensorflow/tfjs-node@4.22.0` (its install script downloads libtensorflow: it needs network)');
  });

  it('a package it needs is missing: not called "not installed"', () => {
    expect(nativeBackendProblem('node', notFound('@mapbox/node-pre-gyp'))).toBe(
      "@tensorflow/tfjs-node failed on import: Cannot find package '@mapbox/node-pre-gyp' imported from /p/node_modules/@dept/tensor/dist/backend.js");
  });

  it('installed without its binding (install script denied or offline): rebuild it, allowing the script', () => {
    const error = new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /p/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node. \n'
      + "Please run command 'npm rebuild @tensorflow/tfjs-node-gpu --build-addon-from-source' to rebuild the native addon module.");
    const line = nativeBackendProblem('node-gpu', error);
    expect(line).toBe('@tensorflow/tfjs-node-gpu is installed without its native binding (tfjs_binding.node): its install script did not run or could not download libtensorflow; '
      + 'run `npm rebuild @tensorflow/tfjs-node-gpu` with network, allowing its script ("allowScripts": { "@tensorflow/tfjs-node-gpu": true } in your package.json)');
    expect(line).not.toContain('\n');
  });

  it('the GPU package without CUDA: names the library and the way out', () => {
    const error = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    expect(nativeBackendProblem('node-gpu', error)).toBe('@tensorflow/tfjs-node-gpu is installed but the CUDA libraries it needs are missing '
      + '(libcudart.so.11.0: cannot open shared object file: No such file or directory); install CUDA and cuDNN as its README says, or use --backend node');
  });
});
