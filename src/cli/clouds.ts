import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface CloudCredentials {
  readonly authUrl: string;
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
}

/** A clouds.yaml for the openstack CLI (values JSON-quoted, which YAML reads as strings). */
export function cloudsYaml(c: CloudCredentials, options: { maskPassword?: boolean } = {}): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'clouds:',
    '  polyvisor:',
    '    auth:',
    `      auth_url: ${q(c.authUrl)}`,
    `      username: ${q(c.username)}`,
    `      password: ${options.maskPassword ? '"***"' : q(c.password)}`,
    `      project_name: ${q(c.projectName)}`,
    '      user_domain_name: "Default"',
    '      project_domain_name: "Default"',
    '    region_name: "RegionOne"',
    '    identity_api_version: 3',
    '    interface: "public"',
    '',
  ].join('\n');
}

/**
 * Writes the credentials where the openstack CLI finds them: always `<state_path>/clouds.yaml`
 * (mode 0600), and the user's `~/.config/openstack/clouds.yaml` when that file does not exist
 * yet. Returns the paths written.
 */
export function writeCloudsYaml(statePath: string, c: CloudCredentials): { statePathFile: string; userFile: string | null } {
  const text = cloudsYaml(c);
  const statePathFile = join(statePath, 'clouds.yaml');
  mkdirSync(dirname(statePathFile), { recursive: true });
  writeFileSync(statePathFile, text, { mode: 0o600 });
  const userFile = join(homedir(), '.config', 'openstack', 'clouds.yaml');
  if (!existsSync(userFile)) {
    mkdirSync(dirname(userFile), { recursive: true });
    writeFileSync(userFile, text, { mode: 0o600 });
    return { statePathFile, userFile };
  }
  if (readFileSync(userFile, 'utf8') === text) return { statePathFile, userFile };
  return { statePathFile, userFile: null };
}
