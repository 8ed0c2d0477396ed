import { unknownOptionsTests } from './support/unknown-options.js';

unknownOptionsTests('memory', { url: () => `memory://unknown-options-${process.pid}` });
