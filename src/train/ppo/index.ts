/** PPO (actor–critic) for language models: config, pure helpers, rollout, update and driver. */
export * from './config';
export * from './core';
export * from './losses';
export * from './metrics';
export * from './rollout';
export * from './selection';
export * from './trainer';
export * from './update';
export * from './value';
