// Records every module URL this process resolves, one per line, in the file named by $DEPT_RECORD_LOADS.
// Used with `node --import ./test/helpers/record-loads.mjs ...` to check which packages a command loads.
import { register } from 'node:module';

if (process.env.DEPT_RECORD_LOADS) {
  register('./record-loads-hooks.mjs', import.meta.url, { data: { file: process.env.DEPT_RECORD_LOADS } });
}
