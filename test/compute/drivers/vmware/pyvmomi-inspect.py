"""Independent view of vcsim through pyVmomi (Debian python3-pyvmomi 6.7.1).

Usage: pyvmomi-inspect.py <host> <port> <user>   (password in $VC_PASSWORD)
Prints JSON: every VM (name, folder path, power state, guestId, instanceUuid, annotation,
extraConfig, controllers, disks with their parent disk, NICs) and every folder.
"""
import json
import os
import ssl
import sys

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim


def folder_path(entity):
    parts = []
    cur = entity.parent
    while cur is not None and not isinstance(cur, vim.Datacenter):
        parts.append(cur.name)
        cur = cur.parent
    return "/".join(reversed(parts))


def main():
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    si = SmartConnect(host=host, port=port, user=user, pwd=os.environ["VC_PASSWORD"],
                      sslContext=ssl._create_unverified_context())
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        vms = []
        for vm in view.view:
            cfg = vm.config
            devices = cfg.hardware.device if cfg else []
            disks, nics, controllers = [], [], []
            for d in devices:
                if isinstance(d, vim.vm.device.VirtualDisk):
                    parent = getattr(d.backing, "parent", None)
                    disks.append({"fileName": d.backing.fileName, "parent": parent.fileName if parent else None,
                                  "capacityKB": d.capacityInKB, "controllerKey": d.controllerKey})
                elif isinstance(d, vim.vm.device.VirtualEthernetCard):
                    b = d.backing
                    if isinstance(b, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
                        nics.append({"type": type(d).__name__, "portgroupKey": b.port.portgroupKey})
                    else:
                        nics.append({"type": type(d).__name__, "network": b.deviceName})
                elif isinstance(d, vim.vm.device.VirtualController):
                    controllers.append({"type": type(d).__name__, "key": d.key})
            vms.append({
                "name": vm.name, "folder": folder_path(vm), "powerState": str(vm.runtime.powerState),
                "guestId": cfg.guestId if cfg else None, "instanceUuid": cfg.instanceUuid if cfg else None,
                "annotation": cfg.annotation if cfg else None,
                "extraConfig": {o.key: str(o.value) for o in (cfg.extraConfig if cfg else [])},
                "numCPU": cfg.hardware.numCPU if cfg else None, "memoryMB": cfg.hardware.memoryMB if cfg else None,
                "disks": disks, "nics": nics, "controllers": controllers,
            })
        fview = content.viewManager.CreateContainerView(content.rootFolder, [vim.Folder], True)
        folders = [{"name": f.name, "path": folder_path(f) + "/" + f.name} for f in fview.view]
        pgs = content.viewManager.CreateContainerView(content.rootFolder, [vim.dvs.DistributedVirtualPortgroup], True)
        portgroups = {pg.key: pg.name for pg in pgs.view}
        print(json.dumps({"vms": vms, "folders": folders, "portgroups": portgroups}))
    finally:
        Disconnect(si)


main()
