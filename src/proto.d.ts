/** `.proto` files are bundled as their text (esbuild's text loader, scripts/build.mjs). */
declare module '*.proto' {
  const text: string;
  export default text;
}
