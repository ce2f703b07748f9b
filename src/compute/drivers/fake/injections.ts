import { DriverError } from '../driver.js';

/** Operations of the fake driver that a test can make fail. */
export type FakeOperation =
  | 'init'
  | 'listNodes'
  | 'spawn'
  | 'destroy'
  | 'powerOff'
  | 'powerOn'
  | 'reboot'
  | 'suspend'
  | 'resume'
  | 'pause'
  | 'unpause'
  | 'migrateDiskAndPowerOff'
  | 'finishMigration'
  | 'confirmMigration'
  | 'finishRevertMigration'
  | 'liveMigrate'
  | 'postLiveMigrationAtDestination'
  | 'getDiagnostics'
  | 'snapshot'
  | 'rescue'
  | 'unrescue'
  | 'setAdminPassword'
  | 'getConsoleOutput'
  | 'triggerCrashDump'
  | 'getVncConsole'
  | 'getSerialConsole'
  | 'listInstanceStates';

export interface FakeFailure {
  readonly op: FakeOperation;
  /** Only on this node (default: any). */
  readonly node?: string;
  /** Only for this instance (default: any). */
  readonly uuid?: string;
  /** How many matching calls fail (default 1; Infinity: until cleared). */
  readonly times?: number;
  /** For spawn: true means "another node may succeed" (the scheduler reschedules). */
  readonly retryable?: boolean;
  readonly message?: string;
}

/** Failure injection: the first matching rule with calls left fails the call. */
export class Injections {
  readonly #rules: { rule: FakeFailure; left: number }[] = [];

  add(rule: FakeFailure): void {
    this.#rules.push({ rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.#rules.length = 0;
  }

  /** Throws the injected DriverError when a rule matches this call. */
  check(op: FakeOperation, target: { node?: string; uuid?: string } = {}): void {
    for (let i = 0; i < this.#rules.length; i++) {
      const r = this.#rules[i];
      if (!r || r.rule.op !== op) continue;
      if (r.rule.node !== undefined && r.rule.node !== target.node) continue;
      if (r.rule.uuid !== undefined && r.rule.uuid !== target.uuid) continue;
      r.left -= 1;
      if (r.left <= 0) this.#rules.splice(i, 1);
      throw new DriverError('fake_injected_failure', r.rule.message ?? `injected ${op} failure`, {
        retryable: r.rule.retryable ?? false,
        details: { op, ...target },
      });
    }
  }
}
