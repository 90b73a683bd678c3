/**
 * Entry point of the language server process (`out/server.js`). The
 * transport (`--node-ipc` from the extension, `--stdio` in tests) is chosen
 * by vscode-languageserver from the command line.
 */
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { errorDetail } from '../protocol';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);

// Never die on a stray rejection or exception: log it and keep serving.
process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${errorDetail(e)}`));
process.on('uncaughtException', (e) => connection.console.error(`uncaught exception: ${errorDetail(e)}`));

startServer(connection);
