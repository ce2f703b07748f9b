"""Each host's standard port groups as its network system reports them, through pyVmomi.

Usage: pyvmomi-portgroups.py <host> <port> <user>   (password in $VC_PASSWORD)
Prints JSON: {"<host name>": [{"name", "vlanId", "vswitchName"}, ...], ...}
"""
import json
import os
import ssl
import sys

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim


def main():
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    si = SmartConnect(host=host, port=port, user=user, pwd=os.environ["VC_PASSWORD"],
                      sslContext=ssl._create_unverified_context())
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        out = {}
        for h in view.view:
            info = h.configManager.networkSystem.networkInfo
            out[h.name] = [{"name": pg.spec.name, "vlanId": pg.spec.vlanId, "vswitchName": pg.spec.vswitchName}
                           for pg in (info.portgroup or [])]
        print(json.dumps(out))
    finally:
        Disconnect(si)


main()
