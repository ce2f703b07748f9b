#!/usr/bin/env python3
"""Prepares a running Polyvisor for tempest and writes tempest.conf.

Usage: prepare.py <polyvisor base url> <admin password> <tempest.conf path> <state dir>

Reads the Compute API's version document (so [compute] min/max_microversion follow
what the API announces), makes sure two small public images exist (tempest's
image_ref / image_ref_alt) and writes a tempest.conf with dynamic credentials
created through our Identity API. Only the standard library: tempest's own
dependencies are not ours to rely on here.
"""
import json
import os
import sys
import urllib.request

BASE, ADMIN_PASSWORD, CONF_PATH, STATE_DIR = sys.argv[1:5]
HTTP_IMAGE = os.environ.get('POLYVISOR_TEMPEST_HTTP_IMAGE', 'http://127.0.0.1/tempest-http.raw')
ADMIN_USER = os.environ.get('POLYVISOR_ADMIN_USER', 'admin')
ADMIN_PROJECT = os.environ.get('POLYVISOR_ADMIN_PROJECT', 'admin')


def call(method, url, body=None, token=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if raw is not None:
        req.add_header('Content-Type', 'application/octet-stream')
    elif body is not None:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=60) as resp:
        text = resp.read()
        return resp.headers, (json.loads(text) if text else None)


def admin_token():
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': ADMIN_USER, 'domain': {'name': 'Default'}, 'password': ADMIN_PASSWORD}}},
        'scope': {'project': {'name': ADMIN_PROJECT, 'domain': {'name': 'Default'}}}}}
    headers, _ = call('POST', f'{BASE}/identity/v3/auth/tokens', body)
    return headers['X-Subject-Token']


def compute_microversions():
    _, doc = call('GET', f'{BASE}/compute/')
    v21 = next(v for v in doc['versions'] if v['id'] == 'v2.1')
    return v21.get('min_version') or '2.1', v21.get('version') or '2.1'


def ensure_image(token, name):
    _, found = call('GET', f'{BASE}/image/v2/images?name={name}', token=token)
    for img in found['images']:
        if img['status'] == 'active':
            return img['id']
    _, img = call('POST', f'{BASE}/image/v2/images', {
        'name': name, 'disk_format': 'raw', 'container_format': 'bare', 'visibility': 'public',
        'min_disk': 0, 'min_ram': 0}, token=token)
    # 1 MiB of zeros: a valid raw disk, small enough to copy in milliseconds.
    call('PUT', f'{BASE}/image/v2/images/{img["id"]}/file', token=token, raw=bytes(1024 * 1024))
    return img['id']


def main():
    token = admin_token()
    min_mv, max_mv = compute_microversions()
    image = ensure_image(token, 'tempest-image')
    image_alt = ensure_image(token, 'tempest-image-alt')
    lock_path = os.path.join(STATE_DIR, 'locks')
    os.makedirs(lock_path, exist_ok=True)
    conf = f"""# Written by scripts/tempest for the Polyvisor at {BASE}
[DEFAULT]
log_dir = {STATE_DIR}
log_file = tempest.log
use_stderr = false

[oslo_concurrency]
lock_path = {lock_path}

[auth]
use_dynamic_credentials = true
create_isolated_networks = false
tempest_roles =
admin_username = {ADMIN_USER}
admin_password = {ADMIN_PASSWORD}
admin_project_name = {ADMIN_PROJECT}
admin_domain_name = Default
default_credentials_domain_name = Default

[identity]
uri_v3 = {BASE}/identity/v3
auth_version = v3
region = RegionOne
v3_endpoint_type = public
default_domain_id = default
admin_role = admin

[identity-feature-enabled]
api_v2 = false
api_v3 = true
trust = false
project_tags = false
application_credentials = false
access_rules = false
security_compliance = false
domain_specific_drivers = false

[compute]
image_ref = {image}
image_ref_alt = {image_alt}
flavor_ref = 1
flavor_ref_alt = 2
min_microversion = {min_mv}
max_microversion = {max_mv}
region = RegionOne
endpoint_type = publicURL
# The fake driver reaches ACTIVE (and deletes) in under a second; a short timeout keeps a
# test that waits on something Polyvisor never does from stalling the run for minutes.
build_timeout = 20
build_interval = 1
# scripts/tempest's serve runs two fake compute hosts ([fake] hosts = 2): migrations need a second one.
min_compute_nodes = 2

[compute-feature-enabled]
# What the Compute API serves today (the rest needs a feature outside Polyvisor or
# an action the API does not offer yet: see tools/tempest/skip-list.txt).
pause = true
suspend = true
resize = true
cold_migration = true
live_migration = true
# A live migration moves the instance's disks with it on every driver that offers it.
block_migration_for_live_migration = true
shelve = true
snapshot = true
rescue = true
# Rescue from an image of the user's choice works (rescue_image_ref; hw_rescue_* are kept as image
# properties), but tempest makes that image through the /v2.1/images proxy: turn on with it.
stable_rescue = true
change_password = true
console_output = true
interface_attach = false
metadata_service = false
config_drive = false
personality = true
vnc_console = true
spice_console = false
serial_console = true
rdp_console = false
attach_encrypted_volume = false
disk_config = true
# Nova returns adminPass on create by default; tempest's response schema allows it only with this flag.
enable_instance_password = true
# Tempest ties its server-metadata tests to XenAPI (metadata is read-only on other Nova
# drivers' deployments); Polyvisor's metadata API is writable on every driver. The other
# tests the flag enables (os-agents, resetNetwork) are in skip-list.txt.
xenapi_apis = true
swap_volume = false
volume_multiattach = false
# hw_rescue_bus=ide is kept as an image property like the other buses stable_rescue tests (see above).
ide_bus = true
# 2.94's FQDN hostnames are served; tempest's only test of it also needs SSH into the guest
# ([validation] run_validation, a networking service), so it still skips for that.
hostname_fqdn_sanitization = true
scheduler_enabled_filters = AvailabilityZoneFilter,ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter

[image]
region = RegionOne
endpoint_type = publicURL
# Tempest uploads random bytes under every format listed here; Polyvisor inspects what is
# uploaded and refuses content that contradicts disk_format, so only raw (and the bare
# container) truthfully describe tempest's data.
container_formats = bare
disk_formats = raw
# web-download imports fetch this (scripts/tempest serves it on loopback).
http_image = {HTTP_IMAGE}

[image-feature-enabled]
api_v2 = true
api_v1 = false
# Interoperable import (glance-direct, web-download, copy-image) with one store, 'file'.
import_image = true
# Glance reserves os_glance_* (and Polyvisor polyvisor_*): 403 on create and update.
os_glance_reserved = true
manage_locations = false

[network]
public_network_id =
floating_network_name =

[network-feature-enabled]
ipv6 = false

[validation]
run_validation = false

[service_available]
nova = true
glance = true
neutron = false
cinder = false
swift = false
heat = false
horizon = false
"""
    with open(CONF_PATH, 'w') as f:
        f.write(conf)
    os.chmod(CONF_PATH, 0o600)
    print(f'tempest: compute microversions {min_mv}..{max_mv}, images {image} {image_alt}')


main()
