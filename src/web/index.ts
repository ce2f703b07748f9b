export { webRoutes, type WebDeps } from './routes.js';
export { InstanceFeed, type InstanceChange } from './instance-feed.js';
