#!/usr/bin/env node
import { run } from './cli.js';

// exitCode rather than exit(): what is still buffered for stdout gets written first.
process.exitCode = await run(process.argv.slice(2));
