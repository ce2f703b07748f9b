export * from './invoke.js';
export * from './session-methods.js';
export * from './property-methods.js';
export * from './vm-methods.js';
export * from './file-methods.js';
export * from './inventory-methods.js';
