/** holdfast's version, recorded in snapshots as program_version. */
export const VERSION = '0.1.0';
export const PROGRAM = `holdfast ${VERSION}`;
