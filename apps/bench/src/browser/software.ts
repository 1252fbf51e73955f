/**
 * Software rasterisers behind a WebGPU adapter or WebGL renderer: SwiftShader (Chromium's
 * CPU Vulkan/GL), llvmpipe, lavapipe, softpipe. GPU-engine rows on one of these measure
 * the CPU, and the report says so next to them.
 */
export function isSoftwareRenderer(text: string): boolean {
  return /swiftshader|llvmpipe|lavapipe|softpipe|software/i.test(text);
}
