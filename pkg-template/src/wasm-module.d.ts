// Lets the workerd entry import the .wasm as a compiled module (the Workers convention).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
