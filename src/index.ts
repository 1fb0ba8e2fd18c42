/** pitlab's public API: what notebooks and scripts import from 'pitlab'. */
export * from './data';
export * from './eval';
export * from './runtime';
