// Entry for running from source: `node --import tsx src/cli/run.ts serve`.
import { main } from './main.js';

await main(process.argv);
