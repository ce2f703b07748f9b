export { FakeDriver, type FakeDriverOptions, type FakeVm } from './fake-driver.js';
export type { FakeFailure, FakeOperation } from './injections.js';
