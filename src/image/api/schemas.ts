import { CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, VISIBILITIES } from './attributes.js';

/**
 * The JSON schemas Glance publishes under /v2/schemas: clients (glanceclient, tempest)
 * read them to learn the attributes of an image and a member.
 */
const IMAGE_PROPERTIES = {
  id: { type: 'string', description: 'An identifier for the image', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
  name: { type: ['null', 'string'], description: 'Descriptive name for the image', maxLength: 255 },
  status: {
    type: 'string',
    readOnly: true,
    description: 'Status of the image',
    enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'],
  },
  visibility: { type: 'string', description: 'Scope of image accessibility', enum: [...VISIBILITIES] },
  protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
  os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
  checksum: { type: ['null', 'string'], readOnly: true, description: 'md5 hash of image contents.', maxLength: 32 },
  os_hash_algo: { type: ['null', 'string'], readOnly: true, description: 'Algorithm to calculate the os_hash_value', maxLength: 64 },
  os_hash_value: { type: ['null', 'string'], readOnly: true, description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', maxLength: 128 },
  owner: { type: ['null', 'string'], description: 'Owner of the image', maxLength: 255 },
  size: { type: ['null', 'integer'], readOnly: true, description: 'Size of image file in bytes' },
  virtual_size: { type: ['null', 'integer'], readOnly: true, description: 'Virtual size of image in bytes' },
  container_format: { type: ['null', 'string'], description: 'Format of the container', enum: [null, ...CONTAINER_FORMATS] },
  disk_format: { type: ['null', 'string'], description: 'Format of the disk', enum: [null, ...DISK_FORMATS] },
  created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
  updated_at: { type: 'string', readOnly: true, description: 'Date and time of the last image modification' },
  tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
  direct_url: { type: 'string', readOnly: true, description: 'URL to access the image file kept in external store' },
  min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
  min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
  self: { type: 'string', readOnly: true, description: 'An image self url' },
  file: { type: 'string', readOnly: true, description: 'An image file url' },
  schema: { type: 'string', readOnly: true, description: 'An image schema url' },
  locations: { type: 'array', description: 'A set of URLs to access the image file kept in external store', items: { type: 'object' } },
  // Properties the VMware and KVM drivers read, documented so that clients show them.
  hypervisor_type: { type: 'string', description: 'Hypervisor type required by the image (vmware, qemu, ...)' },
  architecture: { type: 'string', description: 'CPU architecture required by the image (x86_64, aarch64, ...)' },
  vmware_disktype: { type: 'string', description: 'VMDK disk type: sparse, thin, preallocated, streamOptimized' },
  vmware_adaptertype: { type: 'string', description: 'Disk adapter: lsiLogic, busLogic, lsiLogicsas, paraVirtual, ide' },
  vmware_ostype: { type: 'string', description: 'VMware guest OS identifier' },
} as const;

const IMAGE_LINKS = [
  { rel: 'self', href: '{self}' },
  { rel: 'enclosure', href: '{file}' },
  { rel: 'describedby', href: '{schema}' },
] as const;

export function imageSchema(): Record<string, unknown> {
  return {
    name: 'image',
    properties: IMAGE_PROPERTIES,
    additionalProperties: { type: 'string' },
    links: IMAGE_LINKS,
  };
}

export function imagesSchema(): Record<string, unknown> {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema() },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function memberSchema(): Record<string, unknown> {
  return {
    name: 'member',
    properties: {
      created_at: { type: 'string', description: 'Date and time of image member creation' },
      image_id: { type: 'string', description: 'An identifier for the image', pattern: IMAGE_PROPERTIES.id.pattern },
      member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
      status: { type: 'string', description: 'The status of this image member', enum: [...MEMBER_STATUSES] },
      updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
      schema: { type: 'string', readOnly: true },
    },
  };
}

export function membersSchema(): Record<string, unknown> {
  return {
    name: 'members',
    properties: {
      members: { type: 'array', items: memberSchema() },
      schema: { type: 'string' },
    },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}
