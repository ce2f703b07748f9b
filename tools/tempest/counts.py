#!/usr/bin/env python3
"""Reads a subunit v2 stream (stestr last --subunit) on stdin and prints pass/fail/skip
counts per module (the test id up to its class), then the totals, then the failed ids.
The modules are the ones the run was asked for, given as arguments, so that a test is
counted under the named module it belongs to (e.g. tempest.api.compute.admin)."""
import sys

import subunit
import testtools

modules = sorted(sys.argv[1:], key=len, reverse=True)
results = {}


def on_test(test):
    tid = test['id'].split('[')[0]
    if tid.startswith('setUpClass (') or tid.startswith('tearDownClass ('):
        tid = tid.split('(', 1)[1].rstrip(')')
    status = test['status']
    if status in ('success', 'xfail'):
        kind = 'pass'
    elif status == 'skip':
        kind = 'skip'
    else:
        kind = 'fail'
    results.setdefault(test['id'], (tid, kind))


stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name='stdout')
result = testtools.StreamToDict(on_test)
result.startTestRun()
stream.run(result)
result.stopTestRun()

per = {}
failed = []
for test_id, (tid, kind) in sorted(results.items()):
    module = next((m for m in modules if tid == m or tid.startswith(m + '.')), tid.rsplit('.', 2)[0])
    counts = per.setdefault(module, {'pass': 0, 'fail': 0, 'skip': 0})
    counts[kind] += 1
    if kind == 'fail':
        failed.append(test_id)

total = {'pass': 0, 'fail': 0, 'skip': 0}
print(f"{'module':<45} {'pass':>5} {'fail':>5} {'skip':>5}")
for module in sorted(per):
    c = per[module]
    for k in total:
        total[k] += c[k]
    print(f"{module:<45} {c['pass']:>5} {c['fail']:>5} {c['skip']:>5}")
print(f"{'TOTAL':<45} {total['pass']:>5} {total['fail']:>5} {total['skip']:>5}")
ran = total['pass'] + total['fail']
if ran:
    print(f"pass rate (skips excluded): {100.0 * total['pass'] / ran:.1f}%")
for test_id in failed:
    print(f'FAILED {test_id}')
sys.exit(1 if total['fail'] else 0)
