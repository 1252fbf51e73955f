import type { LayerDef } from './layer.js';
import { additiveCoupling, scale } from './nice.js';

/**
 * Every layer family by its spec `type`. Adding a layer is one file plus one line here;
 * no backend changes (layers emit only primitives).
 */
export const layerRegistry = new Map<string, LayerDef>(
  ([additiveCoupling, scale] as LayerDef[]).map((d) => [d.type, d]),
);
