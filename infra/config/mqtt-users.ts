/**
 * The platform's own MQTT users. Anonymous access is off on every broker, so each platform
 * client logs in: the region's general client (`meridian`, in the default MQTT URL, used for
 * health checks), the device registry's dynamic-security admin, the MQTT bridge and the command
 * publisher, each with only the rights it needs. The local stack provisions them with
 * LOCAL_PASSWORD; production provisions them with `mosquitto_ctrl dynsec` and passes the
 * passwords in MERIDIAN_<REGION>_IOT_MQTT_<ROLE>_PASSWORD.
 */
import { LOCAL_PASSWORD, LOCAL_USER } from './endpoints.ts';

export const MQTT_USERS = {
  /** Health checks and platform diagnostics: `$SYS/#` and `meridian/#` only. */
  platform: LOCAL_USER,
  /** Dynamic-security administrator: creates, rotates and deletes device credentials. */
  admin: 'meridian-admin',
  /** The MQTT → Kafka bridge. */
  bridge: 'meridian-bridge',
  /** Publishes commands (firmware jobs) to devices. */
  commands: 'meridian-commands',
} as const;

export type MqttRole = keyof typeof MQTT_USERS;

/** The local stack's password of every platform MQTT user. */
export const LOCAL_MQTT_PASSWORD = LOCAL_PASSWORD;

/** `url` with these credentials in place of any it carried. */
export function withCredentials(url: string, username: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** `url` without credentials (what a device is told to connect to). */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}
