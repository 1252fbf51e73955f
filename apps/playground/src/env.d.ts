declare module 'virtual:bijective-checkpoints' {
  import type { CheckpointEntry } from '../assets-plugin.js';
  export const checkpoints: CheckpointEntry[];
}
