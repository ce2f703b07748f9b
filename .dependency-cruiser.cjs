/** Dependency direction: drivers and the vSphere client know nothing of the database,
 *  the API or the scheduler; the API never reaches a driver; only src/cli (the
 *  composition root) wires concrete classes together. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'drivers-are-leaves',
      comment: 'A driver talks to its hypervisor only; it reports back through the driver interface.',
      severity: 'error',
      from: { path: '^src/compute/drivers/' },
      to: { path: '^src/(db|identity|image|compute/(api|scheduler|agent)|cli|web)/' },
    },
    {
      name: 'drivers-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/compute/drivers/([^/]+)/' },
      to: { path: '^src/compute/drivers/(?!$1/)[^/]+/' },
    },
    {
      name: 'api-never-imports-a-driver',
      severity: 'error',
      from: { path: '^src/(api|compute/api|identity|image/api|network/api|web)/' },
      to: { path: '^src/(compute/drivers|vsphere)/' },
    },
    {
      name: 'vsphere-client-is-standalone',
      severity: 'error',
      from: { path: '^src/vsphere/' },
      to: { path: '^src/(?!vsphere/|errors|log)' },
    },
    {
      name: 'only-cli-wires',
      comment: 'Only the composition root (src/cli) may import across every part.',
      severity: 'error',
      from: { path: '^src/(?!cli/)' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
