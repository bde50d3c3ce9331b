/** The memory benchmark's own process: runs `benchMemory` and sends its rows to the parent (see benchMemoryInChild). */
import { benchMemory } from './memory.bench';

benchMemory().then(
  (rows) => process.send?.(rows, () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
