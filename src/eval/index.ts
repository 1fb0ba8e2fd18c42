/** Judges and statistics: pairwise win rates, means and ELO ratings with bootstrap CIs. */
export * from './agreement';
export * from './bootstrap';
export * from './compare';
export * from './elo';
export * from './judge';
export * from './proportion';
