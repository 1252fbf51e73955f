import type { LayerDef } from './layer.js';
import { additiveCoupling, scale } from './nice.js';
import { actNorm } from './actnorm.js';
import { affineCoupling } from './affine.js';
import { invConv1x1 } from './invconv.js';
import { split, squeeze } from './multiscale.js';
import { iaf, maf } from './autoregressive.js';
import { permute } from './permute.js';
import { logit } from './logit.js';
import { standardize } from './standardize.js';
import { gaussianize } from './gaussianize.js';
import { householder } from './householder.js';
import { splineCoupling } from './spline-coupling.js';
import { splineAutoregressive } from './spline-autoregressive.js';
import { mintBlock } from './mintnet.js';

/**
 * Every layer family by its spec `type`. Adding a layer is one file plus one line here;
 * no backend changes (layers emit only primitives).
 */
export const layerRegistry = new Map<string, LayerDef>(
  ([additiveCoupling, scale, affineCoupling, actNorm, invConv1x1, squeeze, split, maf, iaf, permute, logit, standardize] as LayerDef[]).map((d) => [d.type, d]),
);
layerRegistry.set(gaussianize.type, gaussianize as LayerDef);
layerRegistry.set(householder.type, householder as LayerDef);
for (const d of [splineCoupling, splineAutoregressive] as LayerDef[]) layerRegistry.set(d.type, d);
layerRegistry.set(mintBlock.type, mintBlock as LayerDef);
