/**
 * PPO for language models (actor–critic, or critic-free with RLOO/GRPO group baselines): config,
 * pure helpers, rollout, update and driver.
 */
export * from './config';
export * from './core';
export * from './group';
export * from './losses';
export * from './metrics';
export * from './rollout';
export * from './selection';
export * from './trainer';
export * from './update';
export * from './value';
