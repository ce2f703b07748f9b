import type { Config } from '../../config/options.js';
import type { Bus } from '../../db/bus.js';
import type { Db } from '../../db/database.js';
import type { DialectName } from '../../db/dialect.js';
import type { Logger } from '../../log.js';

/**
 * What the Compute API needs from the composition root.
 * - `db`, `dialect`, `bus`: the open database (openDatabase) and its notification bus;
 * - `config`: the loaded nova.conf ([quota], [api] max_limit, [DEFAULT] service_down_time,
 *   default_availability_zone, default_schedule_zone, instance_name_template);
 * - `logger`: for things worth a line beyond the request log;
 * - `publicUrl()`: the externally visible base URL of the API server, without the
 *   `/compute` prefix (e.g. `http://controller:8774`); links are built from it per request,
 *   so it may change after start-up (port 0 in tests).
 */
export interface ComputeDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly config: Config;
  readonly logger: Logger;
  readonly dialect: DialectName;
  readonly publicUrl: () => string;
  /** Removes an image's bits from the image store (the deprecated /images proxy's delete); absent: rows only. */
  readonly removeImageData?: (location: string) => Promise<void>;
}
