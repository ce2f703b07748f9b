#!/usr/bin/env python3
"""Summarizes the failures of a tempest run: reads a subunit v2 stream
(stestr last --subunit) on stdin and prints, for each failed test, its last
exception line and the last HTTP exchange that tempest logged before it failed
(request line, status and the start of the response body). Usage:
  cd <workdir>/ws && stestr last --subunit | tools/tempest/failures.py [max body chars]
"""
import re
import sys

import subunit
import testtools

BODY = int(sys.argv[1]) if len(sys.argv) > 1 else 300
REQ = re.compile(r'Request \((\w+):([^)]*)\): (\d+) (\w+) (\S+)')


def on_test(test):
    if test['status'] not in ('fail', 'uxsuccess'):
        return
    details = test['details']
    text = ''
    for name in ('traceback', 'pythonlogging:\'\''):
        if name in details:
            text += details[name].as_text() + '\n'
    lines = text.splitlines()
    exc = [l for l in lines if re.match(r'^[\w.]+(Error|Exception|Failure|Mismatch\w*|exceptions\.\w+)\b', l.strip())]
    reqs = [i for i, l in enumerate(lines) if REQ.search(l)]
    print('=' * 100)
    print(test['id'])
    if exc:
        print('  ' + exc[-1].strip()[:600])
    for i in reqs[-2:]:
        m = REQ.search(lines[i])
        print(f'  {m.group(3)} {m.group(4)} {m.group(5)}')
        tail = '\n'.join(lines[i + 1:i + 6])
        body = re.findall(r"Body: (.*)", tail)
        if body:
            print('    req ' + body[0][:BODY])
        if len(body) > 1:
            print('    resp ' + body[1][:BODY])


stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name='stdout')
result = testtools.StreamToDict(on_test)
result.startTestRun()
stream.run(result)
result.stopTestRun()
