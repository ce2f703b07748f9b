export { consoleRoutes, type ConsoleRoutesDeps } from './routes.js';
export { startStandaloneConsoleProxy } from './standalone.js';
