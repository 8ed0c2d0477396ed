export { createProgram, EXIT, run } from './cli.js';
