import { get } from '../api.js';
import type { Session } from '../session.js';
import { ErrorBox, UsageBar, formatMb, useLoad } from '../ui.js';

interface Limits {
  limits: {
    absolute: {
      maxTotalInstances: number;
      totalInstancesUsed: number;
      maxTotalCores: number;
      totalCoresUsed: number;
      maxTotalRAMSize: number;
      totalRAMUsed: number;
      maxTotalKeypairs: number;
    };
  };
}

/** The project's usage against its quota (GET /limits), as Horizon's overview shows it. */
export function OverviewPage(props: { session: Session }) {
  const { data, error } = useLoad(() => get<Limits>('/compute/v2.1/limits'), [props.session.projectId]);
  const a = data?.limits.absolute;
  return (
    <section>
      <h1>Overview</h1>
      <p class="muted">
        Project <strong>{props.session.projectName}</strong>: usage against quota.
      </p>
      <ErrorBox error={error} />
      {a && (
        <div class="card charts" aria-label="Limit summary">
          <UsageBar label="Instances" used={a.totalInstancesUsed} total={a.maxTotalInstances} />
          <UsageBar label="VCPUs" used={a.totalCoresUsed} total={a.maxTotalCores} />
          <UsageBar label="RAM" used={a.totalRAMUsed} total={a.maxTotalRAMSize} format={formatMb} />
        </div>
      )}
    </section>
  );
}
