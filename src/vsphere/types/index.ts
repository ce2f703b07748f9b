export * from './data-object.js';
export * from './moref.js';
export * from './property.js';
export * from './task.js';
export * from './service.js';
export * from './vm.js';
export * from './datastore.js';
export * from './network.js';
export { vim25, Vim25Schema, type FieldDef, type TypeDef } from './schema.js';
