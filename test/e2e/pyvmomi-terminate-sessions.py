"""Terminates every vCenter session but its own, as an administrator would (pyVmomi).

Usage: pyvmomi-terminate-sessions.py <host> <port> <user>   (password in $VC_PASSWORD)
Prints the number of sessions it terminated.
"""
import os
import ssl
import sys

from pyVim.connect import SmartConnect, Disconnect


def main():
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    si = SmartConnect(host=host, port=port, user=user, pwd=os.environ["VC_PASSWORD"],
                      sslContext=ssl._create_unverified_context())
    try:
        sm = si.content.sessionManager
        mine = sm.currentSession.key
        others = [s.key for s in (sm.sessionList or []) if s.key != mine]
        if others:
            sm.TerminateSession(others)
        print(len(others))
    finally:
        Disconnect(si)


main()
