// What a worker runs: the promotion run and the image pipeline, with the stages they need. Apart from @airlock/promotion
// because that entry also carries the database (better-sqlite3) and the audit log, which a worker never opens.
export * from '../queues';
export * from '../stage-catalog';
export * from '../image-pipeline';
export * from '../promote-run';
export * from '../export-write';
