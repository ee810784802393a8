/** `streamai` as a library: see the README's "Use StreamAI from TypeScript" section. */
export * from './library/index.js';
