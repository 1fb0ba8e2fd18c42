/** The shared tensor runtime: backend choice, seeding and memory accounting. */
export { AUTO_ORDER, type BackendName, type BackendProbe, probeBackends } from './backends';
export { Rng, type RngState } from './rng';
export { type Runtime, type RuntimeInfo, type RuntimeOptions, runtime } from './runtime';
