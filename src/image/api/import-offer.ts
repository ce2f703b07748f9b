/**
 * What the image service offers for Glance's interoperable import (import-routes.ts): its
 * methods, and its one store, 'file' (the local image store).
 */
export const STORE_ID = 'file';
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image'] as const;
