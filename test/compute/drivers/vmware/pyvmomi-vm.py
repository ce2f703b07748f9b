"""Where vcsim says a VM is and what it is, through pyVmomi (Debian python3-pyvmomi 6.7.1), not our
client. Found by instance uuid (FindByUuid), not through a container view, which vcsim may
still list a just-destroyed VM in.

Usage: pyvmomi-vm.py <host> <port> <user> <instance uuid>   (password in $VC_PASSWORD)
Prints JSON {"pool": <cluster owning its resource pool>, "host": <host name>,
"hostCluster": <cluster of that host>, "powerState": ..., "numCPU": ..., "memoryMB": ...,
"disks": [{"capacityKB", "parent"}], "extraConfig": {...}, "datastores": [...]}, or null.
"""
import json
import os
import ssl
import sys

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim


def main():
    host, port, user, uuid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    si = SmartConnect(host=host, port=port, user=user, pwd=os.environ["VC_PASSWORD"],
                      sslContext=ssl._create_unverified_context())
    try:
        content = si.RetrieveContent()
        vm = content.searchIndex.FindByUuid(None, uuid, True, True)
        if vm is None:
            print("null")
            return
        pool = vm.resourcePool
        h = vm.runtime.host
        print(json.dumps({
            "pool": pool.owner.name if pool is not None else None,
            "host": h.name if h is not None else None,
            "hostCluster": h.parent.name if h is not None else None,
            "powerState": str(vm.runtime.powerState),
            "numCPU": vm.config.hardware.numCPU,
            "memoryMB": vm.config.hardware.memoryMB,
            "disks": [{"capacityKB": d.capacityInKB, "parent": d.backing.parent.fileName if getattr(d.backing, "parent", None) else None}
                      for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)],
            # vcsim appends options rather than replacing them: the last value of a key wins.
            "extraConfig": {o.key: str(o.value) for o in vm.config.extraConfig},
            "datastores": [d.name for d in vm.datastore],
        }))
    finally:
        Disconnect(si)


main()
