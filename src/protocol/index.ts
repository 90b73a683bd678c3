export * from './jsonrpc';
export * from './entities';
export * from './collections';
export * from './methods';
export * from './findings';
export * from './lsp';
