-- One-minute telemetry windows per device and metric (device time), kept by the windows
-- processor: each reading applied once (processed_events mark in the same transaction).
CREATE TABLE iot_telemetry_windows (
  tenant        text NOT NULL,
  device_id     text NOT NULL,
  metric        text NOT NULL,
  window_start  timestamptz NOT NULL,
  count         bigint NOT NULL,
  min           double precision NOT NULL,
  max           double precision NOT NULL,
  sum           double precision NOT NULL,
  last          double precision NOT NULL,
  last_ts       timestamptz NOT NULL,
  last_seq      bigint NOT NULL,
  PRIMARY KEY (tenant, device_id, metric, window_start)
);
