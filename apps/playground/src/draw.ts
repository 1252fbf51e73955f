import { toByte, viridis } from '@bijective/models';

/**
 * Canvas pictures: image grids (model outputs on the [0, 1) scale, bytes as `render.ts` maps
 * them) and 2-D density heat maps with axes and a colour bar.
 */

/** Draws `n` images `[n, 1, H, W]` on a grid of `columns`, each pixel `zoom`×`zoom`, 2-pixel gaps; `outlined` images get a red frame. */
export function drawImages(canvas: HTMLCanvasElement, data: ArrayLike<number>, n: number, h: number, w: number, columns: number, zoom = 3, outlined: ReadonlySet<number> = new Set()): void {
  const gap = 2;
  const rows = Math.ceil(n / columns);
  canvas.width = columns * (w * zoom + gap) + gap;
  canvas.height = rows * (h * zoom + gap) + gap;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const x0 = gap + (k % columns) * (w * zoom + gap);
    const y0 = gap + Math.floor(k / columns) * (h * zoom + gap);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const v = toByte(data[k * h * w + i * w + j]!);
        for (let a = 0; a < zoom; a++) {
          for (let b = 0; b < zoom; b++) {
            const at = ((y0 + i * zoom + a) * canvas.width + x0 + j * zoom + b) * 4;
            img.data[at] = img.data[at + 1] = img.data[at + 2] = v;
          }
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  ctx.strokeStyle = '#d22';
  ctx.lineWidth = 2;
  for (const k of outlined) ctx.strokeRect(1 + (k % columns) * (w * zoom + gap), 1 + Math.floor(k / columns) * (h * zoom + gap), w * zoom + 2, h * zoom + 2);
}

/** The grid cell (image index) under a click, or undefined on a gap. */
export function cellAt(canvas: HTMLCanvasElement, event: MouseEvent, h: number, w: number, columns: number, zoom = 3): number | undefined {
  const r = canvas.getBoundingClientRect();
  const x = ((event.clientX - r.left) * canvas.width) / r.width;
  const y = ((event.clientY - r.top) * canvas.height) / r.height;
  const col = Math.floor((x - 2) / (w * zoom + 2));
  const row = Math.floor((y - 2) / (h * zoom + 2));
  return col >= 0 && col < columns && row >= 0 ? row * columns + col : undefined;
}

/** A square view of the plane: [lo, hi]² drawn on `size` pixels with a margin for the axes. */
export interface PlaneView {
  lo: number;
  hi: number;
  /** Heat-map cells per side. */
  cells: number;
}

export const PLANE: PlaneView = { lo: -4, hi: 4, cells: 64 };
const MARGIN = { left: 34, bottom: 24, top: 8, right: 70 };
const PLOT = 320;

/** The `cells`² cell centres of the view, row 0 at the top (largest y), row-major `[cells², 2]`. */
export function gridPoints(view: PlaneView): Float32Array {
  const out = new Float32Array(view.cells * view.cells * 2);
  const step = (view.hi - view.lo) / view.cells;
  for (let r = 0; r < view.cells; r++) {
    for (let c = 0; c < view.cells; c++) {
      out[2 * (r * view.cells + c)] = view.lo + (c + 0.5) * step;
      out[2 * (r * view.cells + c) + 1] = view.hi - (r + 0.5) * step;
    }
  }
  return out;
}

/** Plane coordinates of a click on a canvas drawn by {@link drawDensity}, or undefined outside the plot. */
export function planeAt(canvas: HTMLCanvasElement, event: MouseEvent, view: PlaneView): [number, number] | undefined {
  const r = canvas.getBoundingClientRect();
  const px = ((event.clientX - r.left) * canvas.width) / r.width - MARGIN.left;
  const py = ((event.clientY - r.top) * canvas.height) / r.height - MARGIN.top;
  if (px < 0 || py < 0 || px > PLOT || py > PLOT) return undefined;
  const span = view.hi - view.lo;
  return [view.lo + (px / PLOT) * span, view.hi - (py / PLOT) * span];
}

/**
 * The density exp(logp) of the `cells`² grid as a viridis heat map (linear in density, scaled to
 * its maximum), with axes, a colour bar, and `points` `[n, 2]` (the training data) as dots.
 */
export function drawDensity(canvas: HTMLCanvasElement, logp: ArrayLike<number> | undefined, view: PlaneView, points?: ArrayLike<number>, title?: string): void {
  canvas.width = MARGIN.left + PLOT + MARGIN.right;
  canvas.height = MARGIN.top + PLOT + MARGIN.bottom;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const n = view.cells;
  let max = 0;
  if (logp) {
    for (let i = 0; i < n * n; i++) if (Number.isFinite(logp[i]!)) max = Math.max(max, Math.exp(logp[i]!));
    const cell = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const p = Number.isFinite(logp[i]!) ? Math.exp(logp[i]!) : 0;
      const [r, g, b] = viridis(max > 0 ? p / max : 0);
      cell.data.set([r, g, b, 255], 4 * i);
    }
    const tmp = document.createElement('canvas');
    tmp.width = tmp.height = n;
    tmp.getContext('2d')!.putImageData(cell, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, MARGIN.left, MARGIN.top, PLOT, PLOT);
  } else {
    ctx.fillStyle = '#eee';
    ctx.fillRect(MARGIN.left, MARGIN.top, PLOT, PLOT);
  }
  const span = view.hi - view.lo;
  if (points) {
    ctx.fillStyle = logp ? 'rgba(255,255,255,0.55)' : 'rgba(30,30,120,0.5)';
    for (let i = 0; i + 1 < points.length; i += 2) {
      const x = MARGIN.left + ((points[i]! - view.lo) / span) * PLOT;
      const y = MARGIN.top + ((view.hi - points[i + 1]!) / span) * PLOT;
      if (x >= MARGIN.left && x <= MARGIN.left + PLOT && y >= MARGIN.top && y <= MARGIN.top + PLOT) ctx.fillRect(x - 1, y - 1, 2, 2);
    }
  }
  // Axes: ticks at the integers.
  ctx.strokeStyle = '#333';
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.strokeRect(MARGIN.left, MARGIN.top, PLOT, PLOT);
  for (let t = Math.ceil(view.lo); t <= view.hi; t++) {
    const x = MARGIN.left + ((t - view.lo) / span) * PLOT;
    const y = MARGIN.top + ((view.hi - t) / span) * PLOT;
    ctx.beginPath();
    ctx.moveTo(x, MARGIN.top + PLOT);
    ctx.lineTo(x, MARGIN.top + PLOT + 4);
    ctx.moveTo(MARGIN.left - 4, y);
    ctx.lineTo(MARGIN.left, y);
    ctx.stroke();
    ctx.textAlign = 'center';
    ctx.fillText(String(t), x, MARGIN.top + PLOT + 16);
    ctx.textAlign = 'right';
    ctx.fillText(String(t), MARGIN.left - 6, y + 4);
  }
  // Colour bar: density from 0 to the grid's maximum.
  const bx = MARGIN.left + PLOT + 12;
  for (let i = 0; i < PLOT; i++) {
    const [r, g, b] = viridis(1 - i / PLOT);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(bx, MARGIN.top + i, 12, 1);
  }
  ctx.fillStyle = '#333';
  ctx.textAlign = 'left';
  ctx.fillText(logp ? max.toPrecision(2) : '—', bx + 15, MARGIN.top + 9);
  ctx.fillText('0', bx + 15, MARGIN.top + PLOT);
  ctx.save();
  ctx.translate(bx + 40, MARGIN.top + PLOT / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(title ?? 'density p(x)', 0, 10);
  ctx.restore();
}
