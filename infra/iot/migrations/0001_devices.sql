-- The device registry. A row is RESERVED while its registration creates the broker user, then
-- ACTIVE, then (for good) REVOKED. Rows registered in the other region arrive as replicas
-- (newest version wins). Online/last seen/latest reading are kept by the activity processor
-- from both regions' raw device events. Only the credential's hash is stored.
CREATE TABLE iot_devices (
  tenant              text NOT NULL,
  device_id           text NOT NULL,
  state               text NOT NULL CHECK (state IN ('RESERVED', 'ACTIVE', 'REVOKED')),
  name                text,
  model               text,
  firmware_version    text,
  credential_version  integer NOT NULL DEFAULT 0,
  credential_hash     text,
  home_region         text,
  registered_at       timestamptz,
  updated_at          timestamptz NOT NULL,
  revoked_at          timestamptz,
  online              boolean NOT NULL DEFAULT false,
  status_at           timestamptz,
  last_seen_at        timestamptz,
  latest_seq          bigint,
  latest_reading      jsonb,
  version             integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, device_id)
);
CREATE INDEX iot_devices_by_model ON iot_devices (tenant, model, device_id) WHERE state = 'ACTIVE';
