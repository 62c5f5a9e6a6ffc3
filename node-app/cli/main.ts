// The `baton` command line (program.ts): parse argv and run the command.
import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((err) => {
    console.error(`baton: ${(err as Error).message}`);
    process.exit(1);
  });
