/** The shared tensor runtime: backend choice, seeding, memory accounting and fused ops. */

export { AUTO_ORDER, type BackendName, type BackendProbe, probeBackends } from './backends';
export * as ops from './ops';
export { Rng, type RngState } from './rng';
export { type Runtime, type RuntimeInfo, type RuntimeOptions, runtime } from './runtime';
