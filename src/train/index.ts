/** Trainers and their shared infrastructure: configs, metrics, checkpoints, loop helpers. */

export * from './batches';
export * from './checkpoint';
export * from './config';
export * from './driver';
export * from './loop';
export * from './metrics';
export { AdamW, type AdamWConfig, DEFAULT_ADAMW } from './optim';
export * from './pit_rl';
export * from './ppo';
export * from './reward';
export * from './reward_metrics';
export * from './sft';
