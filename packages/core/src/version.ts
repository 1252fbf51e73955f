/**
 * This library's version, written into checkpoints and exported models. Kept equal to
 * package.json's by `npm run version-packages` (scripts/sync-version.mjs); a test checks it.
 */
export const VERSION = '0.1.0';
